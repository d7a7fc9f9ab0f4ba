// Issue 15 §4: the custodians' escrow key ceremony through the server (threshold-escrow.md §6.1)
// is the default way to make a tender's escrow key. Three custodians of independent organisations
// run `tender escrow ceremony join` at the same time; the joint key becomes the tender's setup,
// which the engineering pack then publishes (it refuses a dealt one); any two of the shares open
// what was sealed to it. A dealer who seals a wrong share is named by a complaint anyone can
// check; a false complaint, a message out of turn, from the wrong organisation or after the
// escrow changed is refused and changes nothing; a draft's ceremony is hidden from outsiders.

#include <world.hpp>

#include <tender/client/escrow_ceremony.hpp>
#include <tender/client/tenders.hpp>
#include <tender/core/tender_rules.hpp>
#include <tender/crypto/escrow.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
namespace fs = std::filesystem;
namespace cer = tender::client::ceremony;
namespace esc = tender::crypto::escrow;
using tender::test::actor;
using tender::test::run_result;
using tender::test::world;

namespace {

std::string at(std::int64_t seconds_from_now) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return tender::core::format_utc(now + seconds_from_now);
}

// The server's error code of a client::error thrown by `f` ("" when nothing is thrown).
template <class F>
std::string code_of(F&& f) {
  try {
    f();
  } catch (const tender::client::error& e) {
    return e.code();
  }
  return "";
}

class escrow_ceremony : public ::testing::Test {
protected:
  world w{"escrow-ceremony"};
  actor& host = w.user("host", "city-works", "tenderer", {"tenderer"});
  std::vector<actor*> custodians = {&w.user("cust-1", "center-1", "center", {"expert"}),
                                    &w.user("cust-2", "sup-1", "supervision", {"supervisor"}),
                                    &w.user("cust-3", "notary-1", "notary", {"expert"})};
  actor& outsider = w.user("bidder", "acme-build", "bidder", {"bidder"});
  std::string dir = tender::test::make_temp_dir("escrow-ceremony");

  json::object escrow_of(int threshold) {
    json::array list;
    for (std::size_t i = 0; i < custodians.size(); ++i) {
      const auto pem = custodians[i]->key.public_part().to_pem();
      list.push_back(json::object{{"id", "c" + std::to_string(i + 1)},
                                  {"org_id", custodians[i]->org_id},
                                  {"public_key", pem}});
    }
    return {{"threshold", threshold}, {"custodians", list}};
  }

  // An engineering draft whose bids may be opened by 2 of the 3 custodians; no setup yet.
  std::string draft(const std::string& code) {
    const json::object doc{
        {"project_code", code},
        {"title", "Riverside pumping station"},
        {"kind", "works"},
        {"rule_pack", "engineering"},
        {"deadline_at", at(30 * 86400)},
        {"opening_at", at(30 * 86400)},
        {"key_policy", "bidder_or_escrow"},
        {"escrow", escrow_of(2)},
        {"lots", json::array{json::object{
                     {"lot_no", 1},
                     {"title", "Pumps"},
                     {"estimated_price", 500'000'000},
                     {"bond_amount", 5'000'000},
                     {"summary_fields",
                      json::array{json::object{
                          {"key", "price"}, {"label", "投标报价"}, {"type", "money"}}}}}}}};
    const auto created = tender::client::create_tender(*host.api, json::serialize(doc));
    EXPECT_EQ(created.status, 201u) << created.body;
    return created.id;
  }

  std::string token_file(const actor& a) {
    const std::string path = dir + "/" + a.user_id + ".token";
    if (!fs::exists(path)) std::ofstream(path) << a.token << "\n";
    return path;
  }

  run_result cli(std::vector<std::string> args, const actor& as) {
    args.insert(args.begin(), {TENDER_CLI_PATH, "--server", w.url()});
    args.insert(args.end(), {"--token-file", token_file(as)});
    return tender::test::run_command(args, {{"HOME", dir}});
  }

  long long messages() { return w.rows("escrow_ceremony_messages"); }
};

TEST_F(escrow_ceremony, three_custodians_make_a_key_nobody_knows_and_the_tender_publishes_with_it) {
  const auto id = draft("DKG-1");
  // Without a setup, and with a setup one dealer made, the engineering pack refuses.
  auto t = tender::client::get_tender(*host.api, id);
  auto refused = code_of([&] { tender::client::publish_tender(*host.api, id, t.etag); });
  EXPECT_EQ(refused, "tender.rule_violation");
  auto dealt_escrow = escrow_of(2);
  dealt_escrow["setup"] = json::parse(esc::setup_to_json(esc::deal(esc::group::sm2, 2, 3).pub));
  t = tender::client::update_tender(*host.api, id, t.etag,
                                    json::serialize(json::object{{"escrow", dealt_escrow}}));
  try {
    tender::client::publish_tender(*host.api, id, t.etag);
    ADD_FAILURE() << "a dealt setup was published";
  } catch (const tender::client::error& e) {
    EXPECT_NE(std::string(e.what()).find("made by a single dealer"), std::string::npos) << e.what();
  }

  // The owner starts the ceremony; the dealt setup goes.
  const auto started = cli({"escrow", "ceremony", "start", "--tender", id, "--group", "sm2"}, host);
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_NE(started.output.find("round: keys"), std::string::npos) << started.output;
  EXPECT_FALSE(json::parse(tender::client::get_tender(*host.api, id).body)
                   .at("escrow")
                   .as_object()
                   .contains("setup"));

  // A draft's ceremony is hidden from outsiders, not from a custodian or the owner.
  EXPECT_EQ(code_of([&] { cer::status(*outsider.api, id); }), "tender.not_found");
  EXPECT_EQ(cer::status(*custodians[1]->api, id).your_indices, std::vector<std::uint32_t>{2});

  // The three custodians join at once; each waits for the others between rounds.
  std::vector<run_result> results(3);
  std::vector<std::thread> joins;
  for (std::size_t i = 0; i < 3; ++i) {
    joins.emplace_back([&, i] {
      const auto n = std::to_string(i + 1);
      results[i] = cli(
          {"escrow", "ceremony", "join", "--tender", id, "--secret", dir + "/secret-" + n + ".json",
           "--out", dir + "/share-" + n + ".json", "--poll", "0.05", "--timeout", "300"},
          *custodians[i]);
    });
  }
  for (auto& j : joins)
    j.join();
  for (const auto& r : results) {
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("round: done"), std::string::npos) << r.output;
  }

  // The joint setup is the tender's, marked as the ceremony's; the shares are secret files.
  const auto v = cer::status(*host.api, id);
  EXPECT_EQ(v.state, "done");
  const auto tender_doc = json::parse(tender::client::get_tender(*host.api, id).body).as_object();
  const auto& escrow = tender_doc.at("escrow").as_object();
  EXPECT_EQ(escrow.at("ceremony").as_int64(), 1);
  const auto setup = esc::setup_from_json(json::serialize(escrow.at("setup")));
  EXPECT_EQ(json::serialize(escrow.at("setup")), v.setup);
  EXPECT_EQ(setup.grp, esc::group::sm2);
  EXPECT_EQ(setup.labels, (std::vector<std::string>{"c1", "c2", "c3"}));
  std::vector<esc::custodian_share> shares;
  for (int i = 1; i <= 3; ++i) {
    const auto path = dir + "/share-" + std::to_string(i) + ".json";
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    shares.push_back(esc::share_from_json(tender::test::read_file(path)));
    EXPECT_NO_THROW(esc::verify_share(setup, shares.back()));
  }

  // Any two custodians open what a bidder sealed to the tender's key.
  const auto kem = esc::encapsulate(setup.key());
  for (const auto& [a, b] : {std::pair{0, 1}, std::pair{1, 2}, std::pair{0, 2}}) {
    const auto opened = esc::combine(
        setup, kem.ephemeral,
        {esc::make_decryption_share(setup, shares[static_cast<std::size_t>(a)], kem.ephemeral),
         esc::make_decryption_share(setup, shares[static_cast<std::size_t>(b)], kem.ephemeral)});
    EXPECT_TRUE(tender::crypto::constant_time_equal(opened.view(), kem.shared.view()));
  }

  // Every message is an audit event; the tender now publishes.
  EXPECT_EQ(w.db().query_value("SELECT count(*) FROM audit_events WHERE subject = '" + id +
                               "' AND action LIKE 'ceremony.%'"),
            "10");
  t = tender::client::get_tender(*host.api, id);
  EXPECT_EQ(tender::client::publish_tender(*host.api, id, t.etag).state, "published");
}

TEST_F(escrow_ceremony,
       a_dealer_who_seals_a_wrong_share_is_named_and_a_false_complaint_is_refused) {
  const auto id = draft("DKG-2");
  auto v = cer::start(*host.api, id, "ristretto255");
  std::vector<cer::custodian_secret> secrets;
  for (std::uint32_t i = 1; i <= 3; ++i) {
    secrets.push_back(cer::new_secret(v, i));
    v = cer::send_key(*custodians[i - 1]->api, secrets.back());
  }
  EXPECT_EQ(v.state, "dealings");
  v = cer::send_dealing(*custodians[0]->api, v, 1);
  v = cer::send_dealing(*custodians[1]->api, v, 2);
  // Nobody sees a dealing before all are in.
  EXPECT_TRUE(cer::status(*custodians[2]->api, id).raw.at("dealings").as_array().empty());
  // Dealer 3 seals for custodian 1 the share it made for custodian 2.
  auto lying = json::parse(cer::dealing_body(v, 3)).as_object();
  auto& sealed = lying.at("shares").as_array();
  sealed[0] = sealed[1];
  v = cer::send(*custodians[2]->api, id, "dealings", json::serialize(lying));
  ASSERT_EQ(v.state, "confirmations");
  ASSERT_FALSE(v.setup.empty());

  // Custodian 2 got right shares: a complaint against dealer 1 is false, and a reveal whose proof
  // does not verify is refused; neither is stored.
  const auto before = messages();
  EXPECT_EQ(code_of([&] { cer::send_complaint(*custodians[1]->api, v, secrets[1], 1); }),
            "ceremony.complaint_rejected");
  auto forged = json::parse(cer::complaint_body(v, secrets[1], 3)).as_object();
  forged["shared"] = v.members[0].transport_key;
  EXPECT_EQ(
      code_of([&] { cer::send(*custodians[1]->api, id, "complaints", json::serialize(forged)); }),
      "ceremony.bad_message");
  EXPECT_EQ(messages(), before);
  EXPECT_TRUE(cer::open_dealt(v, secrets[1]).share.has_value());

  // Custodian 1 finds dealer 3's share wrong and shows it; the ceremony fails naming dealer 3.
  const auto found = cer::open_dealt(v, secrets[0]);
  ASSERT_FALSE(found.share.has_value());
  EXPECT_EQ(found.bad_dealer, 3u);
  v = cer::send_complaint(*custodians[0]->api, v, secrets[0], 3);
  EXPECT_EQ(v.state, "failed");
  const auto& failure = v.raw.at("failure").as_object();
  EXPECT_EQ(failure.at("code").as_string(), "ceremony.dealer_at_fault");
  EXPECT_EQ(failure.at("dealer").as_int64(), 3);
  EXPECT_EQ(failure.at("complainer").as_int64(), 1);
  // The complaint is public to the participants and checkable from what the view shows.
  const auto& complaint = v.raw.at("complaints").as_array().at(0).as_object();
  const auto transport = esc::transport_setup(
      esc::group::ristretto255, tender::crypto::base64_decode(v.members[0].transport_key));
  const auto& share = v.raw.at("dealings").as_array().at(2).at("shares").as_array().at(0);
  const esc::sealed_share s{tender::crypto::base64_decode(share.at("ephemeral").as_string()),
                            tender::crypto::base64_decode(share.at("masked").as_string())};
  const auto x = esc::unmask_share(
      transport, s, tender::crypto::base64_decode(complaint.at("shared").as_string()), 1,
      esc::dkg_share_context(id, 1, 3, 1));
  esc::setup_public dealer3;
  dealer3.grp = esc::group::ristretto255;
  dealer3.threshold = 2;
  dealer3.custodians = 3;
  for (const auto& c : v.raw.at("dealings").as_array().at(2).at("commitments").as_array())
    dealer3.commitments.push_back(tender::crypto::base64_decode(c.as_string()));
  dealer3.public_key = dealer3.commitments[0];
  dealer3.labels = {"c1", "c2", "c3"};
  EXPECT_THROW(esc::verify_share(dealer3, x), esc::share_error);

  // A failed ceremony takes nothing more and gives the tender no key; the owner starts again.
  const auto after = messages();
  const auto joint = cer::open_dealt(v, secrets[1]);
  EXPECT_EQ(code_of([&] { cer::send_confirmation(*custodians[1]->api, v, 2, *joint.share); }),
            "ceremony.wrong_round");
  EXPECT_EQ(messages(), after);
  EXPECT_FALSE(json::parse(tender::client::get_tender(*host.api, id).body)
                   .at("escrow")
                   .as_object()
                   .contains("setup"));
  const auto again = cer::start(*host.api, id, "ristretto255");
  EXPECT_EQ(again.number, 2u);
  EXPECT_EQ(again.state, "keys");
}

TEST_F(escrow_ceremony, messages_out_of_turn_from_others_or_after_a_change_change_nothing) {
  const auto id = draft("DKG-3");
  // Only the owner starts; the custody rules come first.
  EXPECT_EQ(code_of([&] { cer::start(*outsider.api, id, "sm2"); }), "auth.forbidden");
  auto own = escrow_of(2);
  own["custodians"].as_array()[0].as_object()["org_id"] = host.org_id;
  auto t = tender::client::get_tender(*host.api, id);
  t = tender::client::update_tender(*host.api, id, t.etag,
                                    json::serialize(json::object{{"escrow", own}}));
  EXPECT_EQ(code_of([&] { cer::start(*host.api, id, "sm2"); }), "tender.rule_violation");
  EXPECT_EQ(w.rows("escrow_ceremonies"), 0);
  t = tender::client::update_tender(*host.api, id, t.etag,
                                    json::serialize(json::object{{"escrow", escrow_of(2)}}));
  EXPECT_EQ(code_of([&] { cer::status(*host.api, id); }), "ceremony.not_found");

  auto v = cer::start(*host.api, id, "sm2");
  const auto one = cer::new_secret(v, 1);
  const auto before = messages();
  // Another organisation's index, a dealing before the keys, a key that is not a point.
  EXPECT_EQ(code_of([&] {
              cer::send(*custodians[1]->api, id, "keys", cer::key_body(cer::new_secret(v, 1)));
            }),
            "auth.forbidden");
  EXPECT_EQ(
      code_of([&] {
        cer::send(
            *custodians[0]->api, id, "dealings",
            json::serialize(json::object{
                {"index", 1},
                {"commitments", json::array{"AAAA"}},
                {"shares", json::array{json::object{{"ephemeral", "AAAA"}, {"masked", "AAAA"}}}}}));
      }),
      "ceremony.wrong_round");
  EXPECT_EQ(code_of([&] {
              cer::send(*custodians[0]->api, id, "keys",
                        json::serialize(
                            json::object{{"index", 1}, {"transport_key", std::string(44, 'A')}}));
            }),
            "ceremony.bad_message");
  EXPECT_EQ(code_of([&] {
              cer::send(*custodians[0]->api, id, "keys", R"({"index":1,"transport_key":7})");
            }),
            "request.bad_json");
  EXPECT_EQ(messages(), before);

  v = cer::send_key(*custodians[0]->api, one);
  EXPECT_EQ(code_of([&] { cer::send_key(*custodians[0]->api, one); }), "ceremony.already_sent");
  // The owner changes the escrow: the ceremony is stale and takes nothing more.
  t = tender::client::get_tender(*host.api, id);
  tender::client::update_tender(*host.api, id, t.etag,
                                json::serialize(json::object{{"escrow", escrow_of(3)}}));
  EXPECT_TRUE(cer::status(*custodians[1]->api, id).stale);
  EXPECT_EQ(code_of([&] { cer::send_key(*custodians[1]->api, cer::new_secret(v, 2)); }),
            "ceremony.stale");
  EXPECT_EQ(messages(), before + 1);
  // A supervisor may look; the outsider still may not.
  EXPECT_EQ(cer::status(*custodians[1]->api, id).state, "keys");
  EXPECT_EQ(code_of([&] { cer::status(*outsider.api, id); }), "tender.not_found");
}

}  // namespace
