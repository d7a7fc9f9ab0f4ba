// An amendment reaches every earlier downloader: the tender and document endpoints together, all
// through the client SDK — publish, upload, one bidder downloads, the host amends, and only that
// bidder gets a "tender.amended" notification, with a read receipt the host can count.
#include <world.hpp>

#include <tender/client/documents.hpp>
#include <tender/client/tenders.hpp>
#include <tender/core/tender_rules.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <chrono>

namespace client = tender::client;
namespace docs = tender::client::documents;
namespace json = boost::json;

namespace {

std::string at(std::int64_t seconds_from_now) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return tender::core::format_utc(now + seconds_from_now);
}

}  // namespace

TEST(amendment_push, an_amendment_is_pushed_to_earlier_downloaders_only) {
  tender::test::world w("amend_push");
  auto& host = w.user("host", "city-works", "tenderer", {"tenderer"});
  auto& early = w.user("early", "acme", "bidder", {"bidder"});
  auto& late = w.user("late", "brick-co", "bidder", {"bidder"});

  const json::object doc{
      {"project_code", "SBX-AMEND-1"},
      {"title", "Riverside footbridge"},
      {"kind", "works"},
      {"rule_pack", "sandbox"},
      {"deadline_at", at(3600)},
      {"opening_at", at(3660)},
      {"lots",
       json::array{json::object{
           {"lot_no", 1},
           {"title", "Bridge"},
           {"estimated_price", 500'000'000},
           {"bond_amount", 5'000'000},
           {"summary_fields", json::array{json::object{
                                  {"key", "price"}, {"label", "投标报价"}, {"type", "money"}}}}}}}};
  const auto created = client::create_tender(*host.api, json::serialize(doc));
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto published = client::publish_tender(*host.api, created.id, created.etag);
  ASSERT_EQ(published.state, "published") << published.body;

  const auto up = docs::upload(*host.api, created.id, "tender-documents.pdf", "%PDF-1.7 bridge");
  const auto got = docs::download(*early.api, created.id, up.document_id);
  EXPECT_EQ(docs::notifications(*early.api).items.size(), 0u);

  const auto amended =
      client::amend_tender(*host.api, created.id, published.etag,
                           json::serialize(json::object{
                               {"reason", "Load class corrected"},
                               {"changes", json::object{{"title", "Riverside footbridge (B)"}}}}));
  ASSERT_EQ(amended.status, 200u) << amended.body;

  const auto mine = docs::notifications(*early.api);
  ASSERT_EQ(mine.items.size(), 1u);
  EXPECT_EQ(mine.items[0].kind, "tender.amended");
  EXPECT_EQ(mine.items[0].tender_id, created.id);
  EXPECT_EQ(mine.items[0].ref, "1");
  EXPECT_NE(mine.items[0].summary_json.find("Load class corrected"), std::string::npos);
  // A bidder who never downloaded is not pushed to.
  EXPECT_EQ(docs::notifications(*late.api).items.size(), 0u);

  // The host counts the receipt (no names before the deadline), before and after the read.
  auto receipts = docs::receipts(*host.api, created.id);
  const auto find_push = [&](const docs::receipts_info& r) -> const docs::push_receipt* {
    for (const auto& p : r.pushes) {
      if (p.kind == "tender.amended") return &p;
    }
    return nullptr;
  };
  ASSERT_NE(find_push(receipts), nullptr);
  EXPECT_EQ(find_push(receipts)->delivered, 1);
  EXPECT_EQ(find_push(receipts)->read, 0);
  EXPECT_TRUE(find_push(receipts)->recipients.empty());
  docs::mark_read(*early.api, mine.items[0].id);
  receipts = docs::receipts(*host.api, created.id);
  EXPECT_EQ(find_push(receipts)->read, 1);
  // One audit event for the amendment, whatever it pushed.
  EXPECT_EQ(w.db().query_value("SELECT count(*) FROM audit_events WHERE action = 'tender.amend' "
                               "AND subject = '" +
                               created.id + "'"),
            "1");
  (void)got;
}
