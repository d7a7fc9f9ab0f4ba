// The audit log store against a real PostgreSQL: appends inside a caller's transaction, gap-free
// concurrent appends, proofs checked with tender::crypto::merkle, signed checkpoints.
#include <io_support.hpp>
#include <test_support.hpp>

#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/db/audit_log.hpp>
#include <tender/db/error.hpp>

#include "../../server/db/src/audit_tx.hpp"
#include "../../server/db/src/pool.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <set>
#include <thread>

namespace asio = boost::asio;
namespace merkle = tender::crypto::merkle;
namespace note = tender::crypto::note;
using tender::db::audit_entry;
using tender::db::audit_log;
using tender::test::fresh_database;

namespace {

using tender::test::run_on_io;
const auto code_of = tender::test::db_error_code;

audit_entry entry(const std::string& action, std::optional<std::string> subject = std::nullopt) {
  audit_entry e;
  e.actor = "tester";
  e.role = "system";
  e.action = action;
  e.subject = std::move(subject);
  e.payload_digest = tender::db::audit_payload_digest("payload of " + action);
  return e;
}

struct audit_fixture : ::testing::Test {
  void SetUp() override { tender::crypto::init(); }

  audit_log make_log() { return audit_log(connections, {"tenderhall/test", signer}); }

  // Every stored event, with each leaf recomputed from the fields and checked against the row.
  std::vector<merkle::hash> checked_leaves(audit_log& log) {
    std::vector<merkle::hash> out;
    std::uint64_t from = 0;
    for (;;) {
      const auto page = run_on_io(log.events(from, audit_log::max_page));
      if (page.empty()) break;
      for (const auto& r : page) {
        EXPECT_EQ(r.fields.seq, out.size()) << "gap in the sequence";
        EXPECT_EQ(r.leaf_data, tender::protocol::audit::leaf_data(r.fields));
        const auto leaf = merkle::leaf_hash(tender::crypto::as_bytes(r.leaf_data));
        EXPECT_EQ(r.leaf_hash, leaf);
        out.push_back(leaf);
      }
      from = page.back().fields.seq + 1;
    }
    return out;
  }

  fresh_database db{"audit"};
  tender::db::pool connections{db.conninfo(), 4};
  std::shared_ptr<const note::ed25519_signer> signer = std::make_shared<const note::ed25519_signer>(
      note::ed25519_signer::generate("tenderhall/test"));
};

}  // namespace

TEST_F(audit_fixture, append_in_a_rolled_back_transaction_leaves_no_trace_and_no_gap) {
  {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    tx.exec("CREATE TABLE business (id int)");
    tx.exec("INSERT INTO business VALUES (1)");
    const auto appended = tender::db::audit_tx::append(tx, entry("business.changed"));
    EXPECT_EQ(appended.seq, 0u);
    tx.abort();  // the state change fails: its event must go with it
  }
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_events"), "0");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_nodes"), "0");
  EXPECT_EQ(db.query_value("SELECT size FROM audit_head"), "0");

  auto log = make_log();
  EXPECT_EQ(run_on_io(log.append(entry("first"))).seq, 0u);
  {
    // A committed state change with its event in the same transaction.
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    tx.exec("CREATE TABLE business (id int)");
    const auto appended = tender::db::audit_tx::append(tx, entry("second", "tender-1"));
    EXPECT_EQ(appended.seq, 1u);
    tx.commit();
  }
  EXPECT_EQ(run_on_io(log.append(entry("third"))).seq, 2u);
  EXPECT_EQ(db.query_value("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM audit_events"),
            "0,1,2");
  EXPECT_EQ(db.query_value("SELECT subject FROM audit_events WHERE seq = 1"), "tender-1");
  const auto leaves = checked_leaves(log);
  ASSERT_EQ(leaves.size(), 3u);
  EXPECT_EQ(run_on_io(log.root(3)), merkle::root_from_leaf_hashes(leaves));
}

TEST_F(audit_fixture, concurrent_appends_are_gap_free_and_make_the_root_of_all_leaves) {
  auto log = make_log();
  constexpr int threads = 4;
  constexpr int per_thread = 30;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        try {
          log.append_blocking(entry("thread." + std::to_string(t) + "." + std::to_string(i)));
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& w : workers)
    w.join();
  EXPECT_EQ(failures.load(), 0);
  const std::uint64_t n = threads * per_thread;
  EXPECT_EQ(run_on_io(log.size()), n);
  const auto leaves = checked_leaves(log);
  ASSERT_EQ(leaves.size(), n);
  EXPECT_EQ(
      db.query_value("SELECT min(seq) || '-' || max(seq) || '-' || count(*) FROM audit_events"),
      "0-" + std::to_string(n - 1) + "-" + std::to_string(n));
  // Times follow the sequence: each event's time is read under the head lock.
  EXPECT_EQ(db.query_value("SELECT count(*) FROM (SELECT logged_at < lag(logged_at) OVER (ORDER BY "
                           "seq) AS back FROM audit_events) s WHERE back"),
            "0");
  // 2n - popcount(n) perfect nodes, each stored exactly once.
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_nodes"),
            std::to_string(2 * n - static_cast<std::uint64_t>(__builtin_popcountll(n))));
  const auto expected_root = merkle::root_from_leaf_hashes(leaves);
  EXPECT_EQ(run_on_io(log.root(n)), expected_root);
  const auto cp = run_on_io(log.checkpoint());
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(cp->size, n);
  EXPECT_EQ(cp->root, expected_root);
}

TEST_F(audit_fixture, proofs_from_storage_verify_with_crypto_merkle) {
  auto log = make_log();
  constexpr std::uint64_t n = 13;
  for (std::uint64_t i = 0; i < n; ++i)
    run_on_io(log.append(entry("e" + std::to_string(i))));
  const auto leaves = checked_leaves(log);
  ASSERT_EQ(leaves.size(), n);
  for (std::uint64_t size = 1; size <= n; ++size) {
    const std::span<const merkle::hash> prefix(leaves.data(), size);
    const auto root = merkle::root_from_leaf_hashes(prefix);
    EXPECT_EQ(run_on_io(log.root(size)), root);
    for (std::uint64_t index = 0; index < size; ++index) {
      const auto p = run_on_io(log.inclusion_proof(index, size));
      EXPECT_EQ(p.leaf_hash, leaves[index]);
      EXPECT_NO_THROW(merkle::verify_inclusion(index, size, leaves[index], p.proof, root))
          << index << "/" << size;
      EXPECT_EQ(p.proof, merkle::inclusion_proof(prefix, index));
    }
    for (std::uint64_t old_size = 1; old_size <= size; ++old_size) {
      const auto proof = run_on_io(log.consistency_proof(old_size, size));
      const auto old_root = merkle::root_from_leaf_hashes(prefix.first(old_size));
      EXPECT_NO_THROW(merkle::verify_consistency(old_size, size, old_root, root, proof))
          << old_size << "->" << size;
    }
  }
  // Out of range: beyond the log, index not below size, empty trees, reversed sizes.
  const std::string bad = tender::db::audit_codes::bad_range;
  EXPECT_EQ(code_of([&] { run_on_io(log.inclusion_proof(0, n + 1)); }), bad);
  EXPECT_EQ(code_of([&] { run_on_io(log.inclusion_proof(5, 5)); }), bad);
  EXPECT_EQ(code_of([&] { run_on_io(log.inclusion_proof(0, 0)); }), bad);
  EXPECT_EQ(code_of([&] { run_on_io(log.consistency_proof(0, 3)); }), bad);
  EXPECT_EQ(code_of([&] { run_on_io(log.consistency_proof(4, 3)); }), bad);
  EXPECT_EQ(code_of([&] { run_on_io(log.consistency_proof(3, n + 1)); }), bad);
  EXPECT_FALSE(run_on_io(log.event(n)).has_value());
  EXPECT_EQ(run_on_io(log.event(7))->fields.action, "e7");
  EXPECT_EQ(run_on_io(log.events(10, 100)).size(), 3u);
}

TEST_F(audit_fixture, checkpoints_are_signed_once_per_size_and_verify) {
  auto log = make_log();
  EXPECT_FALSE(run_on_io(log.checkpoint()).has_value()) << "nothing to sign in an empty log";
  EXPECT_FALSE(run_on_io(log.latest_checkpoint()).has_value());
  run_on_io(log.append(entry("a")));
  run_on_io(log.append(entry("b")));
  const auto cp = run_on_io(log.checkpoint());
  ASSERT_TRUE(cp.has_value());
  const note::verifier_key keys[] = {signer->verifier()};
  const auto opened = note::open_checkpoint(cp->note, "tenderhall/test", keys);
  EXPECT_EQ(opened.cp.size, 2u);
  EXPECT_EQ(opened.cp.root, cp->root);
  EXPECT_EQ(opened.cp.root, merkle::root_from_leaf_hashes(checked_leaves(log)));
  // Another key does not verify it.
  const auto other = note::ed25519_signer::generate("tenderhall/test");
  const note::verifier_key wrong[] = {other.verifier()};
  EXPECT_THROW(note::open_checkpoint(cp->note, "tenderhall/test", wrong), tender::crypto::error);

  // No growth, no new checkpoint; growth, a new one.
  const auto again = run_on_io(log.checkpoint());
  EXPECT_EQ(again->note, cp->note);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_checkpoints"), "1");
  run_on_io(log.append(entry("c")));
  const auto third = run_on_io(log.checkpoint());
  EXPECT_EQ(third->size, 3u);
  EXPECT_EQ(run_on_io(log.latest_checkpoint())->note, third->note);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_checkpoints"), "2");
  // A log without a signer can append and read but not sign.
  audit_log reader(connections, {"tenderhall/test", nullptr});
  EXPECT_EQ(code_of([&] { run_on_io(reader.checkpoint()); }), tender::db::audit_codes::no_signer);
}

TEST_F(audit_fixture, bad_events_are_refused_and_change_nothing) {
  auto log = make_log();
  auto bad = entry("x");
  bad.actor.clear();
  EXPECT_EQ(code_of([&] { run_on_io(log.append(bad)); }), tender::db::audit_codes::bad_event);
  bad = entry("x");
  bad.payload_digest = "not a digest";
  EXPECT_EQ(code_of([&] { run_on_io(log.append(bad)); }), tender::db::audit_codes::bad_event);
  bad = entry("x", std::string(""));
  EXPECT_EQ(code_of([&] { run_on_io(log.append(bad)); }), tender::db::audit_codes::bad_event);
  EXPECT_EQ(db.query_value("SELECT size FROM audit_head"), "0");
  EXPECT_EQ(run_on_io(log.append(entry("ok"))).seq, 0u);
}

TEST_F(audit_fixture, a_tampered_tree_is_not_signed) {
  auto log = make_log();
  for (int i = 0; i < 4; ++i)
    run_on_io(log.append(entry("e" + std::to_string(i))));
  // Someone rewrites the stored top node: the head's frontier no longer agrees with the nodes.
  db.exec("UPDATE audit_nodes SET hash = sha256(hash) WHERE level = 2 AND index = 0");
  EXPECT_EQ(code_of([&] { run_on_io(log.checkpoint()); }), tender::db::audit_codes::corrupt);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_checkpoints"), "0");
  // A missing node is reported as such, not as a wrong proof.
  db.exec("DELETE FROM audit_nodes WHERE level = 0 AND index = 3");
  EXPECT_EQ(code_of([&] { run_on_io(log.inclusion_proof(2, 4)); }),
            tender::db::audit_codes::corrupt);
}

// Every append draws a salt of its own and writes a v2 leaf, so a leaf hash (public in proofs)
// cannot be recomputed from the other fields, even for an event with no subject and no payload.
TEST_F(audit_fixture, every_event_gets_its_own_salt_and_a_v2_leaf) {
  auto log = make_log();
  auto bare = entry("bare");
  bare.payload_digest.reset();
  run_on_io(log.append(bare));
  run_on_io(log.append(entry("same", "tender-1")));
  run_on_io(log.append(entry("same", "tender-1")));
  const auto leaves = checked_leaves(log);  // leaf_data == leaf_data(fields), salt included
  ASSERT_EQ(leaves.size(), 3u);
  std::set<std::string> salts;
  for (std::uint64_t seq = 0; seq < 3; ++seq) {
    const auto r = run_on_io(log.event(seq));
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->fields.salt.has_value()) << seq;
    EXPECT_EQ(tender::protocol::audit::check_event(r->fields), "");
    salts.insert(*r->fields.salt);
    EXPECT_EQ(r->leaf_data.substr(4, 25), "tenderhall/audit-event/v2");
    auto unsalted = r->fields;
    unsalted.salt.reset();
    EXPECT_NE(
        merkle::leaf_hash(tender::crypto::as_bytes(tender::protocol::audit::leaf_data(unsalted))),
        r->leaf_hash);
  }
  EXPECT_EQ(salts.size(), 3u) << "two identical events must not share a leaf";
  EXPECT_NE(leaves[1], leaves[2]);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_events WHERE length(salt) = 32"), "3");
  // The column refuses anything but 32 bytes.
  EXPECT_THROW(db.exec("UPDATE audit_events SET salt = '\\x00'::bytea WHERE seq = 0"),
               std::exception);
}
