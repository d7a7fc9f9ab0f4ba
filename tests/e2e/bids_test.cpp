// Bid submission end to end (docs/SUBMISSION.md): tus uploads of real sealed files in several
// PATCHes with a dropped connection and a resume, replacement (the last one counts), withdrawal,
// the decryption rehearsal, receipts checked with the audit log's key, the deadline on the
// database clock for every request path (acceptance 2), the seal of each lot's bids at the
// deadline with too few bids failing the tender, and every bad file or request refused with its
// precise code and nothing recorded (acceptance 4).
#include <world.hpp>

#include "../unit/crypto/sealed_support.hpp"

#include <tender/client/bids.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;

namespace {

namespace bids = tender::client::bids;
namespace tc = tender::crypto;
namespace ts = tender::crypto::sealed;
namespace json = boost::json;
using tender::test::actor;
using tender::test::error_code_of;
using tender::test::wait_until;
using tender::test::world;

constexpr std::uint64_t max_upload = 3u << 20;  // 3 MiB
constexpr std::uint64_t quota = 4u << 20;       // 4 MiB

std::string sha_hex(const std::string& s) {
  return tc::to_hex(tc::sha256(std::string_view(s)));
}

long long count(world& w, const std::string& sql) {
  return std::stoll(w.db().query_value(sql));
}

// A published sandbox tender with lots 1 and 2, inserted directly, its deadline an hour away and
// its scheduled jobs in place (what publication writes).
std::string make_tender(world& w, const actor& owner, const std::string& suffix,
                        const std::string& key_policy = "bidder_only",
                        const std::string& escrow_json = {}) {
  const std::string id = "t-00000000000000" + suffix;
  w.db().exec(
      "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
      "state, published_at, deadline_at, opening_at, key_policy, escrow) VALUES ('" +
      id + "', 'B-" + suffix + "', 'Bridge " + suffix + "', 'works', 'sandbox', '" + owner.org_id +
      "', '" + owner.user_id +
      "', 'published', now(), clock_timestamp() + interval '1 hour', clock_timestamp() + "
      "interval '2 hours', '" +
      key_policy + "', " + (escrow_json.empty() ? "NULL" : "'" + escrow_json + "'::jsonb") + ")");
  for (int lot = 1; lot <= 2; ++lot) {
    w.db().exec(
        "INSERT INTO lots (tender_id, lot_no, title, estimated_price, summary_fields) VALUES ('" +
        id + "', " + std::to_string(lot) +
        ", 'Lot', 100000000, '[{\"key\":\"price\",\"label\":\"投标报价\",\"type\":\"money\"}]')");
  }
  w.db().exec(
      "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.deadline', id, "
      "deadline_at FROM tenders WHERE id = '" +
      id + "'");
  return id;
}

// The deadline passes on the database clock; the scheduler's job is left where it is (so the
// request paths are tested before the seal), unless `fire`.
void pass_deadline(world& w, const std::string& tender_id, bool fire) {
  w.db().exec(
      "UPDATE tenders SET deadline_at = clock_timestamp() - interval '1 millisecond' "
      "WHERE id = '" +
      tender_id + "'");
  if (fire) {
    w.db().exec("UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE subject = '" +
                tender_id + "'");
  }
}

struct sealing {
  tc::private_key encryption = tc::private_key::generate(tc::key_type::x25519);
  tc::private_key signing;
  std::string subject;
  std::string bidder;
  ts::key_policy policy = ts::key_policy::bidder;
  std::optional<tc::escrow::public_key> escrow;
};

struct sealed {
  std::string bytes;
  ts::seal_result result;
  std::string ciphertext_digest() const { return tc::hex_encode(result.tr.ciphertext_digest); }
};

sealed seal(const sealing& s, std::size_t body_size, std::uint8_t seed = 1) {
  ts::seal_params p;
  p.suite = tc::suite_id::sodium;
  p.policy = s.policy;
  p.tender_id = s.subject;
  p.bidder_id = s.bidder;
  p.bidder_keys = {s.encryption.public_part()};
  p.escrow_key = s.escrow;
  p.signing_key = s.signing;
  auto f = sealed_test::seal_string(p, sealed_test::make_body(body_size, seed));
  return {std::move(f.bytes), std::move(f.result)};
}

sealing sealing_for(const actor& a, const std::string& tender_id, int lot = 1) {
  sealing s;
  s.signing = a.key;
  s.subject = tender_id + "/" + std::to_string(lot);
  s.bidder = a.org_id;
  return s;
}

// Creates an upload and sends the file in PATCHes of `chunk` bytes. Returns the upload id and
// the last PATCH's answer.
std::pair<std::string, bids::patch_result> upload(actor& a, const std::string& tender_id,
                                                  const std::string& file, int lot = 1,
                                                  std::size_t chunk = 64 * 1024) {
  const auto created =
      bids::create_upload(*a.api, tender_id, lot, file.size(), "bid.thsb", "bids-test/1");
  bids::patch_result last;
  std::uint64_t at = 0;
  while (at < file.size()) {
    const auto n = std::min<std::size_t>(chunk, file.size() - at);
    last = bids::patch(*a.api, created.upload_id, at, std::string_view(file).substr(at, n));
    at = last.offset;
  }
  return {created.upload_id, last};
}

// A PATCH that fails: its error code (the SDK throws the server's).
std::string patch_code(actor& a, const std::string& upload_id, std::uint64_t offset,
                       std::string_view bytes) {
  try {
    bids::patch(*a.api, upload_id, offset, bytes);
  } catch (const tender::client::error& e) {
    return e.code();
  }
  return "accepted";
}

// Sends a whole file as one upload and returns the code of the refusal of its completion.
std::string refused_completion(actor& a, const std::string& tender_id, const std::string& file,
                               int lot = 1) {
  const auto created = bids::create_upload(*a.api, tender_id, lot, file.size());
  return patch_code(a, created.upload_id, 0, file);
}

std::string snapshot(world& w) {
  std::string out;
  for (const char* t : {"bids", "bid_rehearsals", "bid_seals", "audit_events", "feed_events"}) {
    out += std::string(t) + "=" + std::to_string(w.rows(t)) + " ";
  }
  return out + "current=" +
         w.db().query_value(
             "SELECT string_agg(id::text || ':' || status, ',' ORDER BY id) FROM bids");
}

std::vector<tc::note::verifier_key> log_keys(world& w) {
  auto anon = w.anonymous();
  return {tc::note::parse_verifier_key(anon->log_key())};
}

std::string note_line(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  }
  return {};
}

// A PATCH whose connection drops after `sent` of its `announced` bytes.
void dropped_patch(world& w, const actor& a, const std::string& upload_id, std::uint64_t offset,
                   const std::string& bytes, std::size_t announced) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  asio::ip::tcp::resolver resolver(io);
  asio::connect(sock, resolver.resolve("127.0.0.1", std::to_string(w.server().port())));
  const std::string head = "PATCH /api/v1/uploads/" + upload_id +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + a.token +
                           "\r\nTus-Resumable: 1.0.0\r\nContent-Type: "
                           "application/offset+octet-stream\r\nUpload-Offset: " +
                           std::to_string(offset) +
                           "\r\nContent-Length: " + std::to_string(announced) + "\r\n\r\n";
  asio::write(sock, asio::buffer(head));
  asio::write(sock, asio::buffer(bytes));
  std::this_thread::sleep_for(200ms);
  boost::system::error_code ec;
  sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock.close(ec);
}

struct bids_e2e : ::testing::Test {
  // While this file exists the verification workers stall (submission.hold_verification_while).
  std::string hold = tender::test::make_temp_dir("bids-hold") + "/hold";
  world w{"bids",
          {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"},
           {"TENDERD_SUBMISSION_MAX_UPLOAD_BYTES", std::to_string(max_upload)},
           {"TENDERD_SUBMISSION_BIDDER_QUOTA_BYTES", std::to_string(quota)},
           {"TENDERD_SUBMISSION_HOLD_VERIFICATION_WHILE", hold}}};
  actor& host = w.user("host", "city-works", "tenderer", {"tenderer"});
  actor& b1 = w.user("b1", "acme", "bidder", {"bidder"});
  actor& b2 = w.user("b2", "beta-build", "bidder", {"bidder"});
  actor& b3 = w.user("b3", "gamma-roads", "bidder", {"bidder"});
  actor& staff = w.user("staff", "center", "center", {"center_staff"});
};

TEST_F(bids_e2e, resumable_upload_receipt_replace_rehearse_withdraw) {
  const auto t = make_tender(w, host, "01");
  auto s1 = sealing_for(b1, t);
  const auto f1 = seal(s1, 300 * 1024);
  ASSERT_GT(f1.bytes.size(), 200u * 1024);

  // Discovery.
  const auto caps = bids::capabilities(*w.anonymous());
  EXPECT_EQ(caps.tus_version, "1.0.0");
  EXPECT_EQ(caps.max_size, max_upload);
  EXPECT_EQ(caps.extensions, (std::vector<std::string>{"creation", "termination"}));

  const auto created =
      bids::create_upload(*b1.api, t, 1, f1.bytes.size(), "offer.thsb", "bids-test/1.0");
  EXPECT_EQ(created.location, "/api/v1/uploads/" + created.upload_id);
  EXPECT_EQ(created.offset, 0u);
  const auto& id = created.upload_id;

  // First PATCH: 64 KiB.
  auto r = bids::patch(*b1.api, id, 0, std::string_view(f1.bytes).substr(0, 65536));
  EXPECT_EQ(r.offset, 65536u);
  EXPECT_FALSE(r.receipt_location);
  // A wrong offset is refused and changes nothing.
  EXPECT_EQ(patch_code(b1, id, 1000, "abc"), "upload.offset_mismatch");
  EXPECT_EQ(bids::head(*b1.api, id).offset, 65536u);

  // The connection drops in the middle of the second PATCH: what arrived may be kept.
  dropped_patch(w, b1, id, 65536, f1.bytes.substr(65536, 40000), f1.bytes.size() - 65536);
  std::uint64_t offset = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        offset = bids::head(*b1.api, id).offset;
        return offset >= 65536 && w.db().query_value("SELECT \"offset\" FROM uploads WHERE id = '" +
                                                     id + "'") == std::to_string(offset);
      },
      5s, 50ms));
  EXPECT_LE(offset, 65536u + 40000u);
  EXPECT_EQ(w.rows("bids"), 0);

  // Resume from the server's offset (the previous PATCH may still be finishing: retry on 409).
  const auto file = std::filesystem::temp_directory_path() / ("bid-" + id + ".thsb");
  {
    std::ofstream out(file, std::ios::binary);
    out << f1.bytes;
  }
  std::vector<std::uint64_t> progress;
  bids::patch_result last;
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          last = bids::send_file(
              *b1.api, id, file,
              [&](std::uint64_t done, std::uint64_t) { progress.push_back(done); }, 100 * 1024);
          return true;
        } catch (const tender::client::error& e) {
          if (e.code() != "upload.offset_mismatch") throw;
          return false;
        }
      },
      10s, 100ms));
  std::filesystem::remove(file);
  ASSERT_TRUE(last.receipt_location);
  EXPECT_EQ(*last.receipt_location, "/api/v1/uploads/" + id + "/receipt");
  EXPECT_EQ(last.offset, f1.bytes.size());
  ASSERT_GE(progress.size(), 2u);
  EXPECT_GE(progress.front(), 65536u);
  EXPECT_EQ(progress.back(), f1.bytes.size());

  // The record: one current bid with the file's digests, source IP and client version.
  EXPECT_EQ(w.rows("bids"), 1);
  EXPECT_EQ(w.db().query_value("SELECT status || ' ' || blob_digest || ' ' || ciphertext_digest "
                               "|| ' ' || size || ' ' || source_ip || ' ' || client_version "
                               "FROM bids"),
            "current " + sha_hex(f1.bytes) + " " + f1.ciphertext_digest() + " " +
                std::to_string(f1.bytes.size()) + " 127.0.0.1 bids-test/1.0");
  EXPECT_EQ(count(w,
                  "SELECT count(*) FROM audit_events WHERE action = 'bid.submitted' AND "
                  "subject = '" +
                      t + "/1' AND actor = 'b1'"),
            1);
  const auto st = bids::status(*b1.api, id);
  EXPECT_EQ(st.state, "complete");
  EXPECT_EQ(st.offset, f1.bytes.size());
  ASSERT_TRUE(st.bid_receipt);

  // The receipt: note signed with the log key, payload bound to the leaf, leaf in a checkpoint.
  const auto rc = bids::get_receipt(*b1.api, id);
  const auto keys = log_keys(w);
  const auto opened = tc::note::open(rc.note, keys);
  EXPECT_EQ(opened.text.substr(0, opened.text.find('\n')), "tenderhall/bid-receipt/v1");
  EXPECT_EQ(note_line(opened.text, "subject"), t + "/1");
  EXPECT_EQ(note_line(opened.text, "bidder"), "acme");
  EXPECT_EQ(note_line(opened.text, "upload"), id);
  EXPECT_EQ(note_line(opened.text, "ciphertext-digest"), f1.ciphertext_digest());
  EXPECT_EQ(note_line(opened.text, "file-digest"), sha_hex(f1.bytes));
  EXPECT_EQ(note_line(opened.text, "size"), std::to_string(f1.bytes.size()));
  EXPECT_EQ(note_line(opened.text, "log-index"), std::to_string(rc.log_index));
  const auto payload = json::parse(rc.payload).as_object();
  EXPECT_EQ(payload.at("file_digest").as_string(), sha_hex(f1.bytes));
  EXPECT_EQ(payload.at("source_ip").as_string(), "127.0.0.1");
  EXPECT_EQ(payload.at("client_version").as_string(), "bids-test/1.0");
  EXPECT_EQ(payload.at("received_at").as_string(), note_line(opened.text, "received-at"));
  EXPECT_NE(rc.leaf_data.find(sha_hex(rc.payload)), std::string::npos);
  const auto cp_note = tc::note::open(rc.checkpoint, keys);
  const auto cp = tc::note::parse_checkpoint(cp_note.text);
  ASSERT_GT(cp.size, rc.log_index);
  std::vector<tc::merkle::hash> proof;
  for (const auto& h : rc.inclusion_proof)
    proof.push_back(tc::merkle::hash_from_bytes(tc::as_bytes(h)));
  EXPECT_NO_THROW(tc::merkle::verify_inclusion(
      rc.log_index, cp.size, tc::merkle::leaf_hash(tc::as_bytes(rc.leaf_data)), proof, cp.root));
  // Stored with the bid, and the same in the upload's status and in "mine".
  EXPECT_EQ(json::parse(st.bid_receipt->json), json::parse(rc.json));
  auto mine = bids::mine(*b1.api, t, 1);
  EXPECT_EQ(mine.status, "current");
  EXPECT_EQ(mine.upload_id, id);
  EXPECT_EQ(mine.file_digest, sha_hex(f1.bytes));
  EXPECT_FALSE(mine.rehearsed);
  EXPECT_EQ(json::parse(mine.bid_receipt.json), json::parse(rc.json));
  // Another bidder sees neither the upload nor a bid of its own.
  EXPECT_EQ(error_code_of(b2.api->request("GET", "/api/v1/uploads/" + id, {}, "application/json",
                                          {{"Tus-Resumable", "1.0.0"}})),
            "upload.not_found");
  EXPECT_THROW(bids::mine(*b2.api, t, 1), tender::client::error);

  // Replacement: a second file; the last one counts.
  const auto f2 = seal(s1, 20 * 1024, 2);
  const auto [id2, last2] = upload(b1, t, f2.bytes, 1, 8000);
  ASSERT_TRUE(last2.receipt_location);
  EXPECT_EQ(w.db().query_value("SELECT string_agg(status, ',' ORDER BY id) FROM bids"),
            "replaced,current");
  mine = bids::mine(*b1.api, t, 1);
  EXPECT_EQ(mine.upload_id, id2);
  EXPECT_EQ(mine.ciphertext_digest, f2.ciphertext_digest());

  // Rehearsal: the rehearsal key comes from the file key the bidder unwraps with its own key.
  const auto h2 = sealed_test::header_of(f2.bytes);
  const auto unwrapped = ts::unwrap_bidder(h2, s1.encryption);
  const auto rkey = ts::derive_rehearsal_key(h2, unwrapped.key.view());
  const auto ch = bids::rehearsal_challenge_for(*b1.api, t, 1);
  EXPECT_NE(ch.challenge.find(f2.ciphertext_digest()), std::string::npos);
  // A signature by another key is refused and changes nothing.
  const auto before_bad = snapshot(w);
  const auto wrong = tc::sign_message(b1.key, tc::as_bytes(ch.challenge));
  const std::string wrong_sig(wrong.begin(), wrong.end());
  try {
    bids::confirm_rehearsal(*b1.api, t, 1, ch.challenge_id, wrong_sig);
    ADD_FAILURE() << "a wrong rehearsal signature was accepted";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "bid.rehearsal_failed");
  }
  EXPECT_EQ(snapshot(w), before_bad);
  const auto sig = ts::sign_rehearsal(rkey, tc::as_bytes(ch.challenge));
  const auto conf =
      bids::confirm_rehearsal(*b1.api, t, 1, ch.challenge_id, std::string(sig.begin(), sig.end()));
  const auto conf_note = tc::note::open(conf.confirmation, keys);
  EXPECT_EQ(note_line(conf_note.text, "ciphertext-digest"), f2.ciphertext_digest());
  EXPECT_EQ(note_line(conf_note.text, "log-index"), std::to_string(conf.log_index));
  EXPECT_TRUE(bids::mine(*b1.api, t, 1).rehearsed);
  // A challenge is used once.
  try {
    bids::confirm_rehearsal(*b1.api, t, 1, ch.challenge_id, std::string(sig.begin(), sig.end()));
    ADD_FAILURE() << "a used challenge was accepted again";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "bid.rehearsal_failed");
  }

  // The tenderer sees the count only before the deadline.
  const auto listed = bids::list(*host.api, t, 1);
  EXPECT_EQ(listed.count, 1);
  EXPECT_FALSE(listed.deadline_passed);
  EXPECT_TRUE(listed.bids.empty());
  EXPECT_EQ(bids::list(*staff.api, t, 1).count, 1);

  // Withdrawal.
  const auto wd = bids::withdraw(*b1.api, t, 1);
  EXPECT_FALSE(wd.withdrawn_at.empty());
  EXPECT_EQ(w.db().query_value("SELECT string_agg(status, ',' ORDER BY id) FROM bids"),
            "replaced,withdrawn");
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action = 'bid.withdrawn'"), 1);
  try {
    bids::withdraw(*b1.api, t, 1);
    ADD_FAILURE() << "withdrew twice";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "bid.not_found");
  }
  EXPECT_EQ(bids::list(*host.api, t, 1).count, 0);

  // Termination of an unfinished upload.
  const auto u3 = bids::create_upload(*b1.api, t, 1, 1000);
  bids::patch(*b1.api, u3.upload_id, 0, std::string(10, 'x'));
  bids::terminate(*b1.api, u3.upload_id);
  EXPECT_EQ(w.db().query_value("SELECT state FROM uploads WHERE id = '" + u3.upload_id + "'"),
            "terminated");
  try {
    bids::head(*b1.api, u3.upload_id);
    ADD_FAILURE() << "HEAD of a terminated upload";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.http_status(), 410u);
    EXPECT_EQ(e.code(), "upload.gone");  // from the Tender-Error-Code header: HEAD has no body
  }
  EXPECT_EQ(patch_code(b1, u3.upload_id, 10, "more"), "upload.gone");
}

TEST_F(bids_e2e, bad_files_and_requests_are_refused_with_their_code_and_nothing_recorded) {
  // An escrow tender (bidder-or-escrow) with a real 3-of-5 setup.
  const auto dealt = tc::escrow::deal(tc::escrow::group::ristretto255, 3, 5);
  const auto other = tc::escrow::deal(tc::escrow::group::ristretto255, 3, 5);
  json::array custodians;
  for (int i = 1; i <= 5; ++i) {
    custodians.push_back(json::object{
        {"id", "c" + std::to_string(i)},
        {"org_id", "center"},
        {"public_key", tc::private_key::generate(tc::key_type::ed25519).public_part().to_pem()}});
  }
  const json::object escrow{{"threshold", 3},
                            {"custodians", custodians},
                            {"setup", json::parse(tc::escrow::setup_to_json(dealt.pub))}};
  const auto te = make_tender(w, host, "e2", "bidder_or_escrow", json::serialize(escrow));
  const auto t = make_tender(w, host, "02");

  const auto base = snapshot(w);
  auto expect_refused = [&](const std::string& what, const std::string& tender_id,
                            const std::string& file, const std::string& code) {
    SCOPED_TRACE(what);
    const auto uploads_before = w.rows("uploads");
    EXPECT_EQ(refused_completion(b1, tender_id, file), code);
    EXPECT_EQ(snapshot(w), base);
    EXPECT_EQ(w.rows("bids"), 0);
    EXPECT_EQ(w.rows("uploads"), uploads_before + 1);
    EXPECT_EQ(w.db().query_value(
                  "SELECT state || ' ' || reject_code FROM uploads ORDER BY created_at DESC, id "
                  "LIMIT 1"),
              "rejected " + code);
  };

  // A forged signature: a byte of the signed commitment changed after sealing.
  auto s = sealing_for(b1, t);
  const auto good = seal(s, 5000);
  std::string forged = good.bytes;
  forged[forged.size() - good.result.tr.encoded.size() + 100] ^= 0x01;
  expect_refused("forged signature", t, forged, "bid.bad_signature");

  // Truncated.
  expect_refused("truncated", t, good.bytes.substr(0, good.bytes.size() - 100), "bid.bad_file");
  expect_refused("not a sealed file", t, std::string(5000, 'z'), "bid.bad_file");

  // Sealed for another tender, or for another lot of this one.
  auto other_lot = sealing_for(b1, t, 2);
  expect_refused("another lot", t, seal(other_lot, 1000).bytes, "bid.wrong_tender");
  auto other_tender = sealing_for(b1, te);
  expect_refused("another tender", t, seal(other_tender, 1000).bytes, "bid.wrong_tender");

  // Another bidder named in the file, a signer that is not a key of the organisation.
  auto wrong_bidder = sealing_for(b1, t);
  wrong_bidder.bidder = "beta-build";
  expect_refused("another bidder", t, seal(wrong_bidder, 1000).bytes, "bid.wrong_bidder");
  auto stranger = sealing_for(b1, t);
  stranger.signing = tc::private_key::generate(tc::key_type::ed25519);
  expect_refused("unknown signer", t, seal(stranger, 1000).bytes, "bid.unknown_signer");
  auto colleague = sealing_for(b1, t);
  colleague.signing = b2.key;  // a registered key, but of another organisation
  expect_refused("signer of another org", t, seal(colleague, 1000).bytes, "bid.unknown_signer");

  // Escrow: the wrong policy, and the wrong escrow key.
  auto plain = sealing_for(b1, te);
  expect_refused("policy bidder on an escrow tender", te, seal(plain, 1000).bytes,
                 "bid.wrong_policy");
  auto wrong_key = sealing_for(b1, te);
  wrong_key.policy = ts::key_policy::bidder_or_escrow;
  wrong_key.escrow = other.pub.key();
  expect_refused("wrong escrow key", te, seal(wrong_key, 1000).bytes, "bid.wrong_escrow_key");
  auto escrowed_for_plain = sealing_for(b1, t);
  escrowed_for_plain.policy = ts::key_policy::bidder_or_escrow;
  escrowed_for_plain.escrow = dealt.pub.key();
  expect_refused("escrow policy on a bidder-only tender", t, seal(escrowed_for_plain, 1000).bytes,
                 "bid.wrong_policy");

  // The right escrow key is accepted.
  auto right = sealing_for(b1, te);
  right.policy = ts::key_policy::bidder_or_escrow;
  right.escrow = dealt.pub.key();
  const auto [ok_id, ok_last] = upload(b1, te, seal(right, 1000).bytes);
  EXPECT_TRUE(ok_last.receipt_location);
  EXPECT_EQ(w.rows("bids"), 1);
  const auto accepted = snapshot(w);

  // tus request errors: nothing changes.
  const auto up = bids::create_upload(*b1.api, t, 1, 100);
  EXPECT_EQ(patch_code(b1, up.upload_id, 5, "abc"), "upload.offset_mismatch");
  EXPECT_EQ(patch_code(b1, up.upload_id, 0, std::string(101, 'x')), "upload.too_large");
  EXPECT_EQ(w.db().query_value("SELECT \"offset\" || ' ' || state FROM uploads WHERE id = '" +
                               up.upload_id + "'"),
            "0 open");
  const auto raw =
      b1.api->request("PATCH", "/api/v1/uploads/" + up.upload_id, "abc", "application/octet-stream",
                      {{"Tus-Resumable", "1.0.0"}, {"Upload-Offset", "0"}});
  EXPECT_EQ(raw.status, 415u);
  const auto old_version = b1.api->request("PATCH", "/api/v1/uploads/" + up.upload_id, "abc",
                                           "application/offset+octet-stream",
                                           {{"Tus-Resumable", "0.2.2"}, {"Upload-Offset", "0"}});
  EXPECT_EQ(old_version.status, 412u);
  EXPECT_EQ(error_code_of(old_version), "upload.unsupported_version");
  EXPECT_EQ(old_version.header("Tus-Version"), "1.0.0");

  // Oversize: Upload-Length above the maximum; the quota of open uploads.
  const auto uploads_before = w.rows("uploads");
  try {
    bids::create_upload(*b1.api, t, 1, max_upload + 1);
    ADD_FAILURE() << "an oversize upload was created";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "upload.too_large");
    EXPECT_EQ(e.http_status(), 413u);
  }
  const auto big = bids::create_upload(*b1.api, t, 1, max_upload);  // 3 of the 4 MiB quota
  try {
    bids::create_upload(*b1.api, t, 2, 1u << 20);
    ADD_FAILURE() << "the quota was passed";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "upload.quota_exceeded");
    EXPECT_EQ(e.http_status(), 413u);
  }
  EXPECT_EQ(w.rows("uploads"), uploads_before + 1);
  // Another organisation has its own quota; termination frees it.
  EXPECT_NO_THROW(bids::create_upload(*b2.api, t, 1, 1u << 20));
  bids::terminate(*b1.api, big.upload_id);
  EXPECT_NO_THROW(bids::create_upload(*b1.api, t, 2, 1u << 20));
  // A tenderer cannot upload; an unknown lot does not exist.
  EXPECT_THROW(bids::create_upload(*host.api, t, 1, 10), tender::client::error);
  try {
    bids::create_upload(*b1.api, t, 7, 10);
    ADD_FAILURE() << "upload for a lot that does not exist";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "tender.not_found");
  }
  EXPECT_EQ(snapshot(w), accepted);
}

TEST_F(bids_e2e, deadline_refuses_every_path_then_seals_each_lot) {
  const auto t = make_tender(w, host, "03");
  auto s1 = sealing_for(b1, t);
  auto s2 = sealing_for(b2, t);
  auto s3 = sealing_for(b3, t);
  const auto f1 = seal(s1, 4000, 1);
  const auto f2 = seal(s2, 4000, 2);
  const auto f3 = seal(s3, 4000, 3);
  const auto f1b = seal(s1, 4000, 4);

  const auto [id1, r1] = upload(b1, t, f1.bytes);
  ASSERT_TRUE(r1.receipt_location);
  const auto [id2, r2] = upload(b2, t, f2.bytes);
  ASSERT_TRUE(r2.receipt_location);
  // b3 has sent all but the last byte; b1 is sending a replacement.
  const auto u3 = bids::create_upload(*b3.api, t, 1, f3.bytes.size());
  bids::patch(*b3.api, u3.upload_id, 0, std::string_view(f3.bytes).substr(0, f3.bytes.size() - 1));
  const auto u1b = bids::create_upload(*b1.api, t, 1, f1b.bytes.size());
  bids::patch(*b1.api, u1b.upload_id, 0,
              std::string_view(f1b.bytes).substr(0, f1b.bytes.size() - 1));
  // A rehearsal challenge handed out before the deadline.
  const auto ch = bids::rehearsal_challenge_for(*b2.api, t, 1);

  // The deadline passes on the database clock (the scheduler has not sealed yet).
  pass_deadline(w, t, false);
  const auto before = snapshot(w);
  auto code_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const tender::client::error& e) {
      return e.code();
    }
    return "accepted";
  };
  // Completion just after the deadline: refused.
  EXPECT_EQ(patch_code(b3, u3.upload_id, f3.bytes.size() - 1, f3.bytes.substr(f3.bytes.size() - 1)),
            "bid.deadline_passed");
  // Replace: refused.
  EXPECT_EQ(
      patch_code(b1, u1b.upload_id, f1b.bytes.size() - 1, f1b.bytes.substr(f1b.bytes.size() - 1)),
      "bid.deadline_passed");
  // Create, PATCH of a fresh byte, withdraw, rehearsal: refused.
  EXPECT_EQ(code_of([&] { bids::create_upload(*b3.api, t, 1, 10); }), "bid.deadline_passed");
  EXPECT_EQ(code_of([&] { bids::withdraw(*b1.api, t, 1); }), "bid.deadline_passed");
  EXPECT_EQ(code_of([&] { bids::rehearsal_challenge_for(*b2.api, t, 1); }), "bid.deadline_passed");
  EXPECT_EQ(code_of([&] { bids::confirm_rehearsal(*b2.api, t, 1, ch.challenge_id, "x"); }),
            "bid.deadline_passed");
  EXPECT_EQ(snapshot(w), before);
  EXPECT_EQ(w.db().query_value("SELECT string_agg(bidder_org, ',' ORDER BY id) FROM bids"),
            "acme,beta-build");

  // The scheduler's deadline: open uploads void, each lot sealed, too few bids: failed.
  pass_deadline(w, t, true);
  ASSERT_TRUE(wait_until(
      [&] {
        return w.db().query_value("SELECT state FROM tenders WHERE id = '" + t + "'") == "failed";
      },
      10s, 50ms))
      << w.server().log();
  EXPECT_EQ(
      count(w, "SELECT count(*) FROM uploads WHERE tender_id = '" + t + "' AND state = 'open'"), 0);
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action = 'bids.sealed'"), 2);
  EXPECT_EQ(count(w, "SELECT count(*) FROM feed_events WHERE kind = 'bids.sealed'"), 2);
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action = 'tender.failed'"), 1);
  EXPECT_NE(w.db().query_value("SELECT status_reason FROM tenders WHERE id = '" + t + "'"), "");
  EXPECT_EQ(patch_code(b3, u3.upload_id, f3.bytes.size() - 1, f3.bytes.substr(f3.bytes.size() - 1)),
            "bid.deadline_passed");

  // The seal, public: count, sorted digests, root recomputed, note verified.
  const auto seal1 = bids::seal(*w.anonymous(), t, 1);
  EXPECT_EQ(seal1.subject, t + "/1");
  EXPECT_EQ(seal1.count, 2);
  std::vector<std::string> digests{f1.ciphertext_digest(), f2.ciphertext_digest()};
  std::sort(digests.begin(), digests.end());
  EXPECT_EQ(seal1.digests, digests);
  std::vector<tc::merkle::hash> leaves;
  for (const auto& d : digests)
    leaves.push_back(tc::merkle::leaf_hash(tc::hex_decode(d)));
  const auto root = tc::merkle::root_from_leaf_hashes(leaves);
  EXPECT_EQ(seal1.root, tc::base64_encode(tc::byte_view(root.data(), root.size())));
  const auto keys = log_keys(w);
  const auto sn = tc::note::open(seal1.note, keys);
  EXPECT_EQ(note_line(sn.text, "count"), "2");
  EXPECT_EQ(note_line(sn.text, "root"), seal1.root);
  EXPECT_EQ(note_line(sn.text, "subject"), t + "/1");
  const auto seal2 = bids::seal(*w.anonymous(), t, 2);
  EXPECT_EQ(seal2.count, 0);
  EXPECT_TRUE(seal2.digests.empty());

  // After the deadline the tenderer sees who bid.
  const auto listed = bids::list(*host.api, t, 1);
  EXPECT_TRUE(listed.deadline_passed);
  ASSERT_EQ(listed.bids.size(), 2u);
  EXPECT_EQ(listed.bids[0].bidder, "acme");
  EXPECT_EQ(listed.bids[0].ciphertext_digest, f1.ciphertext_digest());
}

// Issue 15 §3: the deadline is judged by the database time at which the last byte was accepted,
// stamped before the file queues for verification. The workers stall across the deadline: the
// bid whose last byte came first still counts, with that time as received_at, and the deadline's
// seal waits for it and covers it.
TEST_F(bids_e2e, a_last_byte_before_the_deadline_counts_while_verification_stalls_past_it) {
  const auto t = make_tender(w, host, "05");
  const auto s1 = sealing_for(b1, t);
  const auto f1 = seal(s1, 4000, 7);
  const std::string where = " WHERE id = '" + t + "'";
  { std::ofstream(hold) << "stall\n"; }
  const auto created = bids::create_upload(*b1.api, t, 1, f1.bytes.size());
  std::string outcome;
  std::thread sender([&] {
    try {
      const auto r = bids::patch(*b1.api, created.upload_id, 0, f1.bytes);
      outcome = r.receipt_location ? "recorded" : "no receipt";
    } catch (const tender::client::error& e) {
      outcome = e.code();
    }
  });
  // Every byte stored; only then is the deadline set, just ahead: the last byte came before it.
  // The deadline passes and its job runs (fired, or put off for the bid in flight) while the
  // workers still stall.
  const std::string upload = " FROM uploads WHERE id = '" + created.upload_id + "'";
  ASSERT_TRUE(wait_until(
      [&] { return w.db().query_value("SELECT \"offset\" = length" + upload) == "t"; }, 30s, 20ms));
  w.db().exec("UPDATE tenders SET deadline_at = clock_timestamp() + interval '300 milliseconds'" +
              where);
  w.db().exec("UPDATE scheduled_jobs SET due_at = (SELECT deadline_at FROM tenders" + where +
              ") WHERE subject = '" + t + "'");
  EXPECT_TRUE(wait_until(
      [&] {
        return w.db().query_value(
                   "SELECT fired_at IS NOT NULL OR due_at > (SELECT deadline_at FROM tenders" +
                   where + ") FROM scheduled_jobs WHERE subject = '" + t + "'") == "t";
      },
      30s, 50ms))
      << w.server().log();
  std::filesystem::remove(hold);
  sender.join();
  EXPECT_EQ(outcome, "recorded") << w.server().log();
  EXPECT_EQ(
      w.db().query_value("SELECT count(*) FROM bids WHERE tender_id = '" + t +
                         "' AND received_at < (SELECT deadline_at FROM tenders" + where + ")"),
      "1");
  // The deadline's job seals with the bid in it (one bid: the sandbox pack fails the tender).
  ASSERT_TRUE(wait_until(
      [&] { return w.db().query_value("SELECT state FROM tenders" + where) == "failed"; }, 30s,
      50ms))
      << w.server().log();
  const auto sealed = bids::seal(*w.anonymous(), t, 1);
  EXPECT_EQ(sealed.count, 1);
  EXPECT_EQ(sealed.digests, std::vector<std::string>{f1.ciphertext_digest()});
}

TEST_F(bids_e2e, three_bids_close_the_tender_and_the_seal_covers_them) {
  const auto t = make_tender(w, host, "04");
  // The seal is 404 before the deadline.
  EXPECT_EQ(
      error_code_of(w.anonymous()->request("GET", "/api/v1/tenders/" + t + "/lots/1/bid-seal")),
      "bid.not_found");
  std::vector<std::string> digests;
  std::uint8_t seed = 10;
  for (actor* a : {&b1, &b2, &b3}) {
    auto s = sealing_for(*a, t);
    const auto f = seal(s, 2000, seed++);
    upload(*a, t, f.bytes);
    digests.push_back(f.ciphertext_digest());
  }
  pass_deadline(w, t, true);
  ASSERT_TRUE(wait_until(
      [&] {
        return w.db().query_value("SELECT state FROM tenders WHERE id = '" + t + "'") == "closed";
      },
      10s, 50ms))
      << w.server().log();
  const auto sealed_lot = bids::seal(*w.anonymous(), t, 1);
  std::sort(digests.begin(), digests.end());
  EXPECT_EQ(sealed_lot.count, 3);
  EXPECT_EQ(sealed_lot.digests, digests);
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action = 'tender.failed'"), 0);
}

}  // namespace
