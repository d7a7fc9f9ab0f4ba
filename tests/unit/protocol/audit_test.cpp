#include <tender/protocol/audit.hpp>
#include <tender/protocol/errors.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/merkle.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pa = tender::protocol::audit;

namespace {

pa::event sample() {
  pa::event e;
  e.seq = 0;
  e.time = "2026-03-01T09:30:00.000001Z";
  e.actor = "tenderd:0123456789abcdef";
  e.role = "system";
  e.action = "system.node_started";
  e.payload_digest = "1fff96410cbc243850ea300ee93f9a93f6e0fbe87a2bca6c09eca390d29db43e";
  return e;
}

// The v2 vector of protocol/docs/audit-log.md §2.2: a bidder's download.
pa::event salted_sample() {
  pa::event e;
  e.seq = 41;
  e.time = "2026-03-01T09:31:15.250000Z";
  e.actor = "bidder-17";
  e.role = "bidder";
  e.action = "document.downloaded";
  e.subject = "t-0123456789abcdef";
  e.payload_digest = "8d571c033f9e7d04c56d5d15b1845232b1ff674935897e678d2c7479c4f21738";
  e.salt = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  return e;
}

std::string leaf_hash_hex(const std::string& data) {
  return tender::crypto::hex_encode(
      tender::crypto::merkle::leaf_hash(tender::crypto::as_bytes(data)));
}

// The published page, so that its vector is checked as written rather than copied here.
std::string audit_log_md() {
  std::ifstream in(std::string(TENDER_REPO_ROOT) + "/protocol/docs/audit-log.md");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The hex of the "leaf_data = ..." block that begins with `first_field_hex` (spaces and line
// breaks removed) and the "leaf hash = ..." that follows it.
std::pair<std::string, std::string> documented_vector(const std::string& doc,
                                                      const std::string& first_field_hex) {
  const auto at = doc.find("leaf_data = " + first_field_hex);
  if (at == std::string::npos) return {};
  const auto hash_at = doc.find("leaf hash = ", at);
  if (hash_at == std::string::npos) return {};
  std::string data;
  for (const char c : doc.substr(at + 12, hash_at - at - 12)) {
    if (c != ' ' && c != '\n') data.push_back(c);
  }
  const auto h = doc.substr(hash_at + 12, 64);
  return {data, h};
}

std::string to_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    const auto u = static_cast<unsigned char>(ch);
    out.push_back(digits[u >> 4]);
    out.push_back(digits[u & 15]);
  }
  return out;
}

std::string field(const std::string& s) {
  std::string out(4, '\0');
  out[0] = static_cast<char>((s.size() >> 24) & 0xff);
  out[1] = static_cast<char>((s.size() >> 16) & 0xff);
  out[2] = static_cast<char>((s.size() >> 8) & 0xff);
  out[3] = static_cast<char>(s.size() & 0xff);
  return out + s;
}

}  // namespace

// The documented vector of protocol/docs/audit-log.md, byte for byte (computed independently
// with Python's struct.pack('>I', len) + bytes).
TEST(audit_leaf, matches_the_documented_vector) {
  EXPECT_EQ(
      to_hex(pa::leaf_data(sample())),
      "0000001974656e64657268616c6c2f61756469742d6576656e742f763100000001300000001b323032362d30"
      "332d30315430393a33303a30302e3030303030315a0000001874656e646572643a303132333435363738396162"
      "636465660000000673797374656d0000001373797374656d2e6e6f64655f73746172746564000000000000004031"
      "666666393634313063626332343338353065613330306565393366396139336636653066626538376132626361"
      "366330396563613339306432396462343365");
}

TEST(audit_leaf, every_field_is_length_prefixed_in_order) {
  pa::event e = sample();
  e.seq = 1234567;
  e.subject = "tender-42";
  e.payload_digest.reset();
  const std::string expected = field("tenderhall/audit-event/v1") + field("1234567") +
                               field(e.time) + field(e.actor) + field(e.role) + field(e.action) +
                               field("tender-42") + field("");
  EXPECT_EQ(pa::leaf_data(e), expected);
}

TEST(audit_leaf, any_change_to_any_field_changes_the_leaf) {
  const std::string base = pa::leaf_data(sample());
  auto changed = [&](auto mutate) {
    pa::event e = sample();
    mutate(e);
    return pa::leaf_data(e) != base;
  };
  EXPECT_TRUE(changed([](pa::event& e) { e.seq = 1; }));
  EXPECT_TRUE(changed([](pa::event& e) { e.time[25] = '2'; }));
  EXPECT_TRUE(changed([](pa::event& e) { e.actor = "mallory"; }));
  EXPECT_TRUE(changed([](pa::event& e) { e.role = "host"; }));
  EXPECT_TRUE(changed([](pa::event& e) { e.action = "system.node_stopped"; }));
  EXPECT_TRUE(changed([](pa::event& e) { e.subject = "t1"; }));
  EXPECT_TRUE(changed([](pa::event& e) { e.payload_digest.reset(); }));
  // Moving bytes between neighbouring fields is not a collision: the lengths differ.
  EXPECT_TRUE(changed([](pa::event& e) {
    e.actor += "s";
    e.role = "ystem";
  }));
}

TEST(audit_event, rules) {
  EXPECT_EQ(pa::check_event(sample()), "");
  auto problem = [](auto mutate) {
    pa::event e = sample();
    mutate(e);
    return pa::check_event(e);
  };
  EXPECT_NE(problem([](pa::event& e) { e.time = "2026-03-01 09:30:00"; }).find("time"),
            std::string::npos);
  EXPECT_NE(problem([](pa::event& e) { e.time = "2026-03-01T09:30:00.000001+01"; }), "");
  EXPECT_NE(problem([](pa::event& e) { e.actor.clear(); }).find("actor is empty"),
            std::string::npos);
  EXPECT_NE(problem([](pa::event& e) { e.role = std::string(65, 'r'); }).find("longer than 64"),
            std::string::npos);
  EXPECT_NE(problem([](pa::event& e) { e.action = "a\nb"; }).find("control character"),
            std::string::npos);
  EXPECT_NE(problem([](pa::event& e) { e.subject = ""; }).find("subject is empty"),
            std::string::npos);
  EXPECT_NE(problem([](pa::event& e) { e.payload_digest = "ABC"; }).find("payload_digest"),
            std::string::npos);
  EXPECT_NE(problem([](pa::event& e) { e.payload_digest = std::string(64, 'F'); }), "");
  EXPECT_EQ(problem([](pa::event& e) { e.actor = "用户:张三"; }), "");  // UTF-8 is fine
}

TEST(audit_json, records_and_pages_round_trip) {
  pa::event_record r{sample(), "AAAA", std::string(64, 'a')};
  r.fields.subject = "tender-7";
  const auto back = pa::parse_event_record(pa::to_json(r));
  EXPECT_EQ(back.fields, r.fields);
  EXPECT_EQ(back.leaf_data_base64, "AAAA");
  EXPECT_EQ(back.leaf_hash_hex, r.leaf_hash_hex);

  pa::event_page p;
  p.log_size = 9;
  p.from = 3;
  p.events = {r, r};
  p.next = 5;
  const auto page = pa::parse_event_page(pa::to_json(p));
  EXPECT_EQ(page.log_size, 9u);
  EXPECT_EQ(page.from, 3u);
  ASSERT_EQ(page.events.size(), 2u);
  EXPECT_EQ(page.next, std::optional<std::uint64_t>(5));
  p.next.reset();
  EXPECT_FALSE(pa::parse_event_page(pa::to_json(p)).next.has_value());
  // Absent optional fields are JSON null, not missing.
  const auto v = boost::json::parse(pa::to_json(pa::event_record{sample(), "", ""}));
  EXPECT_TRUE(v.at("subject").is_null());
}

TEST(audit_json, proofs_round_trip_and_wrong_shapes_are_rejected) {
  const pa::inclusion_proof ip{3, 7, "aa", {"bb", "cc"}};
  const auto ib = pa::parse_inclusion_proof(pa::to_json(ip));
  EXPECT_EQ(ib.index, 3u);
  EXPECT_EQ(ib.size, 7u);
  EXPECT_EQ(ib.proof_hex, ip.proof_hex);
  const pa::consistency_proof cp{2, 9, {"dd"}};
  const auto cb = pa::parse_consistency_proof(pa::to_json(cp));
  EXPECT_EQ(cb.old_size, 2u);
  EXPECT_EQ(cb.new_size, 9u);
  EXPECT_EQ(cb.proof_hex, cp.proof_hex);

  EXPECT_THROW(pa::parse_inclusion_proof("{"), std::invalid_argument);
  EXPECT_THROW(pa::parse_inclusion_proof(R"({"index":-1,"size":1,"leaf_hash":"","proof":[]})"),
               std::invalid_argument);
  EXPECT_THROW(pa::parse_consistency_proof(R"({"old":1,"new":2,"proof":[1]})"),
               std::invalid_argument);
  try {
    pa::parse_event_record(R"({"seq":0})");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("missing field 'time'"), std::string::npos);
  }
}

TEST(audit_errors, log_codes_are_stable) {
  namespace tp = tender::protocol;
  EXPECT_EQ(tp::error_code_name(tp::errc::log_bad_parameter), "log.bad_parameter");
  EXPECT_EQ(tp::error_code_name(tp::errc::log_bad_range), "log.bad_range");
  EXPECT_EQ(tp::error_code_name(tp::errc::log_not_found), "log.not_found");
  EXPECT_EQ(tp::http_status(tp::errc::log_bad_parameter), 400u);
  EXPECT_EQ(tp::http_status(tp::errc::log_bad_range), 400u);
  EXPECT_EQ(tp::http_status(tp::errc::log_not_found), 404u);
}

// The salted leaf: a ninth field, the vector of audit-log.md §2.2 read from the page itself.
TEST(audit_leaf, v2_matches_the_vector_published_in_audit_log_md) {
  const auto doc = audit_log_md();
  ASSERT_FALSE(doc.empty()) << "protocol/docs/audit-log.md not found";
  const auto [data, hash] =
      documented_vector(doc, "00000019 74656e64657268616c6c2f61756469742d6576656e742f7632");
  ASSERT_FALSE(data.empty()) << "no v2 vector in audit-log.md";
  const std::string leaf = pa::leaf_data(salted_sample());
  EXPECT_EQ(to_hex(leaf), data);
  EXPECT_EQ(leaf_hash_hex(leaf), hash);
  EXPECT_EQ(hash, "5e0d74fd1cc6a64ff4472e266d4016b4ab4274c1be6761806dee711f7a940b72");
  // The page's "same fields as v1" hash: what a guesser computes without the salt.
  auto unsalted = salted_sample();
  unsalted.salt.reset();
  const auto guessed = leaf_hash_hex(pa::leaf_data(unsalted));
  EXPECT_EQ(guessed, "8721572d6c0ff1c9b59fc26db327fd86e7388e76f47096e30380febbef130ce5");
  EXPECT_NE(doc.find(guessed), std::string::npos);
  EXPECT_NE(guessed, hash);
}

TEST(audit_leaf, v2_is_v1_with_its_own_tag_and_the_salt_as_a_ninth_field) {
  pa::event e = salted_sample();
  e.subject.reset();
  e.payload_digest.reset();
  EXPECT_EQ(pa::leaf_data(e), field("tenderhall/audit-event/v2") + field("41") + field(e.time) +
                                  field(e.actor) + field(e.role) + field(e.action) + field("") +
                                  field("") + field(*e.salt));
  // With no subject and no payload the salt alone still changes the leaf.
  pa::event other = e;
  other.salt->back() = 'e';
  EXPECT_NE(pa::leaf_data(other), pa::leaf_data(e));
}

TEST(audit_leaf, parse_gives_back_v1_and_v2_events_and_refuses_anything_else) {
  for (pa::event e : {sample(), salted_sample()}) {
    std::string why;
    const auto back = pa::parse_leaf_data(pa::leaf_data(e), &why);
    ASSERT_TRUE(back.has_value()) << why;
    EXPECT_EQ(*back, e);
  }
  const auto refused = [](const std::string& data) {
    std::string why;
    const bool ok = pa::parse_leaf_data(data, &why).has_value();
    EXPECT_FALSE(ok) << to_hex(data);
    EXPECT_FALSE(why.empty());
    return why;
  };
  const std::string v1 = pa::leaf_data(sample());
  const std::string v2 = pa::leaf_data(salted_sample());
  const std::string salt = *salted_sample().salt;
  // The field count belongs to the tag: a v1 leaf with a salt, a v2 leaf without one.
  EXPECT_NE(refused(v1 + field(salt)).find("8 fields"), std::string::npos);
  EXPECT_NE(refused(v2.substr(0, v2.size() - 4 - salt.size())).find("9 fields"), std::string::npos);
  EXPECT_NE(refused(v2 + field("x")).find("more than nine"), std::string::npos);
  refused(field("tenderhall/audit-event/v3") + v2.substr(4 + 25));
  refused("");
  refused(v2.substr(0, v2.size() - 1));  // cut short
  // A salt that is not 64 lower-case hex digits.
  auto upper = salted_sample();
  upper.salt = std::string(64, 'A');
  EXPECT_NE(refused(pa::leaf_data(upper)).find("salt"), std::string::npos);
  upper.salt = std::string(62, 'a');
  refused(pa::leaf_data(upper));
  // A sequence number with a leading zero is not canonical.
  const std::string after_seq = v2.substr(4 + 25 + 4 + 2);
  EXPECT_EQ(field("tenderhall/audit-event/v2") + field("41") + after_seq, v2);
  refused(field("tenderhall/audit-event/v2") + field("041") + after_seq);
}

TEST(audit_event, a_salt_is_64_lower_case_hex_digits) {
  EXPECT_EQ(pa::check_event(salted_sample()), "");
  auto e = salted_sample();
  e.salt = std::string(64, 'F');
  EXPECT_NE(pa::check_event(e).find("salt"), std::string::npos);
  e.salt = std::string(66, 'f');
  EXPECT_NE(pa::check_event(e), "");
  e.salt = "";
  EXPECT_NE(pa::check_event(e), "");
}

TEST(audit_json, the_salt_travels_with_the_event_and_is_null_for_a_v1_event) {
  const pa::event_record salted{salted_sample(), "AAAA", std::string(64, 'a')};
  const auto v = boost::json::parse(pa::to_json(salted));
  EXPECT_EQ(v.at("salt").as_string(), *salted_sample().salt);
  EXPECT_EQ(pa::parse_event_record(pa::to_json(salted)).fields, salted.fields);
  const auto v1 = boost::json::parse(pa::to_json(pa::event_record{sample(), "", ""}));
  EXPECT_TRUE(v1.at("salt").is_null());
  EXPECT_FALSE(pa::parse_event_record(pa::to_json(pa::event_record{sample(), "", ""}))
                   .fields.salt.has_value());
  auto missing = v1.as_object();
  missing.erase("salt");
  EXPECT_THROW(pa::parse_event_record(boost::json::serialize(missing)), std::invalid_argument);
}
