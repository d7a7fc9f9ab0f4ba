// Faults during uploads (issue 5, acceptance 3): 50 tus uploads of real sealed files in flight
// while tenderd is killed with SIGKILL at random points and restarted on the same data directory
// (and, in the second test, while PostgreSQL is restarted under it). The clients do what a tus
// client does: on any failure they ask HEAD and resume from the stored offset. At the end every
// upload either completed with a receipt whose bid row matches the file (digest recomputed from
// the blob on disk) or is cleanly void or rejected; no bid row lacks its blob; after garbage
// collection no blob lacks a bid row and no partial file belongs to an upload that is not open.
#include <world.hpp>

#include "../unit/crypto/sealed_support.hpp"

#include <tender/client/bids.hpp>
#include <tender/crypto/digest.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;

namespace {

namespace bids = tender::client::bids;
namespace fs = std::filesystem;
namespace tc = tender::crypto;
namespace ts = tender::crypto::sealed;
using tender::test::actor;
using tender::test::world;

constexpr int bidder_count = 10;
constexpr int lot_count = 5;  // 10 bidders x 5 lots = 50 uploads
constexpr std::size_t body_size = 600 * 1024;
constexpr std::size_t patch_size = 48 * 1024;

std::string sha_hex(std::string_view s) {
  return tc::to_hex(tc::sha256(s));
}

std::string file_sha_hex(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return sha_hex(s.str());
}

// A published sandbox tender with `lot_count` lots, inserted directly, deadline an hour away,
// its deadline job in place.
std::string make_tender(world& w, const actor& owner) {
  const std::string id = "t-00000000000000fa";
  w.db().exec(
      "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
      "state, published_at, deadline_at, opening_at, key_policy) VALUES ('" +
      id + "', 'F-1', 'Faults', 'works', 'sandbox', '" + owner.org_id + "', '" + owner.user_id +
      "', 'published', now(), clock_timestamp() + interval '1 hour', clock_timestamp() + "
      "interval '2 hours', 'bidder_only')");
  for (int lot = 1; lot <= lot_count; ++lot) {
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

struct upload_case {
  actor* who = nullptr;
  int lot = 0;
  std::string file;  // the sealed bytes
  std::string digest;
  // Outcome, written by the client thread.
  std::vector<std::string> upload_ids;  // every upload the client created (a retried creation
                                        // whose answer was lost leaves one it does not know)
  std::string state;                    // complete | rejected | void | terminated | unfinished
  std::optional<bids::receipt> receipt;
  std::vector<std::string> errors;  // codes seen on the way (for the failure message)
  int retries = 0;
};

// A tus client that keeps going until `until`: create, then HEAD + PATCH until the server says
// complete (or gone). Every failure (connection lost, server restarting, database down, offset
// moved) is followed by a pause and a HEAD. `c` is logged in as the bidder; sessions live in the
// database, so they survive tenderd restarts.
void run_client(tender::client::client& c, upload_case& u, const std::string& tender_id,
                std::chrono::steady_clock::time_point until, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string id;
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (id.empty()) {
        const auto created =
            bids::create_upload(c, tender_id, u.lot, u.file.size(), "bid.thsb", "faults/1");
        id = created.upload_id;
        u.upload_ids.push_back(id);
      }
      std::uint64_t offset = 0;
      try {
        offset = bids::head(c, id).offset;
      } catch (const tender::client::error& e) {
        if (e.code() != "upload.gone") throw;
        u.state = bids::status(c, id).state;
        return;
      }
      if (offset == u.file.size()) {
        const auto st = bids::status(c, id);
        if (st.state == "complete") {
          u.state = "complete";
          u.receipt = st.bid_receipt ? *st.bid_receipt : bids::get_receipt(c, id);
          return;
        }
        // Every byte stored but no verdict (a crash during completion): an empty PATCH at the
        // end asks for the completion again.
        bids::patch(c, id, offset, std::string_view());
        continue;
      }
      const auto n = std::min<std::size_t>(patch_size, u.file.size() - offset);
      bids::patch(c, id, offset, std::string_view(u.file).substr(offset, n));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 25));
    } catch (const tender::client::error& e) {
      u.errors.push_back(e.code());
      ++u.retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 100));
    }
  }
  u.state = "unfinished";
}

struct faults_e2e {
  std::string data_dir;
  std::unique_ptr<world> w;
  actor* host = nullptr;
  std::vector<actor*> bidders;
  std::string tender_id;
  std::vector<upload_case> cases;

  explicit faults_e2e(const std::string& hint, const std::string& cluster = {}) {
    data_dir = tender::test::make_temp_dir(hint + "-data");
    const auto port = tender::test::free_port();
    // The same data directory and port across restarts: the clients keep their URL.
    w = std::make_unique<world>(hint,
                                std::map<std::string, std::string>{
                                    {"TENDERD_STORAGE_DATA_DIR", data_dir},
                                    {"TENDERD_LISTEN_PORT", std::to_string(port)},
                                    {"TENDERD_LOG_LEVEL", "info"},
                                },
                                cluster);
    host = &w->user("host", "city-works", "tenderer", {"tenderer"});
    for (int i = 0; i < bidder_count; ++i) {
      const auto n = std::to_string(i);
      bidders.push_back(&w->user("b" + n, "bidder-" + n, "bidder", {"bidder"}));
    }
    tender_id = make_tender(*w, *host);
    const auto encryption = tc::private_key::generate(tc::key_type::x25519);
    for (int lot = 1; lot <= lot_count; ++lot) {
      for (auto* b : bidders) {
        ts::seal_params p;
        p.suite = tc::suite_id::sodium;
        p.policy = ts::key_policy::bidder;
        p.tender_id = tender_id + "/" + std::to_string(lot);
        p.bidder_id = b->org_id;
        p.bidder_keys = {encryption.public_part()};
        p.signing_key = b->key;
        upload_case u;
        u.who = b;
        u.lot = lot;
        const auto seed = static_cast<std::uint8_t>(cases.size() + 1);
        u.file = sealed_test::seal_string(p, sealed_test::make_body(body_size, seed)).bytes;
        u.digest = sha_hex(u.file);
        cases.push_back(std::move(u));
      }
    }
  }

  // One session per upload, made here (the world is not touched from the client threads).
  std::vector<std::thread> start_clients(std::chrono::steady_clock::time_point until) {
    sessions.clear();
    for (auto& u : cases)
      sessions.push_back(w->session_of(*u.who));
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      threads.emplace_back([this, i, until] {
        run_client(*sessions[i], cases[i], tender_id, until, static_cast<std::uint32_t>(i + 7));
      });
    }
    return threads;
  }

  std::vector<std::unique_ptr<tender::client::client>> sessions;

  fs::path blob_path(const std::string& digest) const {
    return fs::path(data_dir) / "blobs" / "sha256" / digest.substr(0, 2) / digest;
  }

  std::set<std::string> blob_files() const {
    std::set<std::string> out;
    const auto root = fs::path(data_dir) / "blobs" / "sha256";
    if (!fs::exists(root)) return out;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.is_regular_file()) out.insert(e.path().filename().string());
    return out;
  }

  std::set<std::string> partial_files() const {
    std::set<std::string> out;
    const auto root = fs::path(data_dir) / "uploads";
    if (!fs::exists(root)) return out;
    for (const auto& e : fs::directory_iterator(root))
      out.insert(e.path().stem().string());
    return out;
  }

  // Every known upload completed with a matching bid and blob, or is cleanly gone; no bid row
  // without its blob.
  void check_outcomes() {
    auto& db = w->db();
    for (const auto& u : cases) {
      const std::string what = u.who->org_id + " lot " + std::to_string(u.lot) + " (" +
                               std::to_string(u.retries) + " retries; uploads " +
                               std::to_string(u.upload_ids.size()) + ")";
      std::string seen;
      for (const auto& e : u.errors)
        seen += e + " ";
      EXPECT_EQ(u.state, "complete") << what << ": " << seen;
      if (u.state != "complete" || !u.receipt) continue;
      EXPECT_NE(u.receipt->note.find("file-digest " + u.digest), std::string::npos)
          << what << "\n"
          << u.receipt->note;
      const auto last = u.upload_ids.back();
      EXPECT_EQ(db.query_value("SELECT blob_digest FROM bids WHERE upload_id = '" + last + "'"),
                u.digest)
          << what;
      EXPECT_EQ(db.query_value("SELECT size FROM bids WHERE upload_id = '" + last + "'"),
                std::to_string(u.file.size()))
          << what;
      EXPECT_EQ(db.query_value("SELECT status FROM bids WHERE upload_id = '" + last + "'"),
                "current")
          << what;
      EXPECT_EQ(db.query_value("SELECT state FROM uploads WHERE id = '" + last + "'"), "complete");
    }
    // One current bid per bidder and lot, and every bid row's blob on disk with its digest.
    EXPECT_EQ(db.query_value("SELECT count(*) FROM bids WHERE status = 'current'"),
              std::to_string(cases.size()));
    const auto rows = std::stoi(db.query_value("SELECT count(*) FROM bids"));
    for (int i = 0; i < rows; ++i) {
      const auto digest = db.query_value("SELECT blob_digest FROM bids ORDER BY id OFFSET " +
                                         std::to_string(i) + " LIMIT 1");
      ASSERT_TRUE(fs::exists(blob_path(digest))) << "bid row without its blob " << digest;
      EXPECT_EQ(file_sha_hex(blob_path(digest)), digest);
    }
    // Uploads the clients lost track of (a creation answered into a dead connection) are open
    // with nothing stored; every other upload is complete.
    std::string known;
    for (const auto& u : cases)
      known += (known.empty() ? "'" : ",'") + u.upload_ids.back() + "'";
    EXPECT_EQ(db.query_value("SELECT count(*) FROM uploads WHERE id NOT IN (" + known +
                             ") AND (state <> 'open' OR \"offset\" <> 0)"),
              "0");
  }

  // The deadline voids what is still open; garbage collection (at the next start) then leaves
  // no partial file of an upload that is not open and no blob without a bid row. Blob and partial
  // files are aged past the collector's grace periods first (as if the time had passed).
  void deadline_then_collect() {
    auto& db = w->db();
    db.exec(
        "UPDATE tenders SET deadline_at = clock_timestamp() - interval '1 millisecond' "
        "WHERE id = '" +
        tender_id + "'");
    db.exec("UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE subject = '" + tender_id +
            "'");
    ASSERT_TRUE(tender::test::wait_until(
        [&] { return db.query_value("SELECT count(*) FROM uploads WHERE state = 'open'") == "0"; },
        30s))
        << "open uploads were not voided at the deadline";
    const auto old = fs::file_time_type::clock::now() - 2h;
    for (const auto& d : blob_files())
      fs::last_write_time(blob_path(d), old);
    // Partial files too: the collector leaves those touched in the last minute.
    for (const auto& id : partial_files())
      fs::last_write_time(fs::path(data_dir) / "uploads" / (id + ".part"), old);
    w->restart_server();  // collects at start
    std::set<std::string> referenced;
    const auto rows = std::stoi(db.query_value("SELECT count(DISTINCT blob_digest) FROM bids"));
    for (int i = 0; i < rows; ++i) {
      referenced.insert(db.query_value("SELECT DISTINCT blob_digest FROM bids ORDER BY 1 OFFSET " +
                                       std::to_string(i) + " LIMIT 1"));
    }
    ASSERT_TRUE(tender::test::wait_until([&] { return blob_files() == referenced; }, 30s))
        << "blobs on disk: " << blob_files().size() << ", referenced: " << referenced.size();
    ASSERT_TRUE(tender::test::wait_until([&] { return partial_files().empty(); }, 30s))
        << partial_files().size() << " partial files left of uploads that are not open";
  }
};

}  // namespace

TEST(upload_faults, tenderd_killed_at_random_points_during_50_uploads) {
  faults_e2e f("upfaults");
  // The clients stop when their upload is complete; this is only the limit. It is generous: under
  // the suite's -j2 load one restart of the ASan tenderd once took 30 s, and the uploads had not
  // finished by a 45 s limit.
  const auto until = std::chrono::steady_clock::now() + 120s;
  auto threads = f.start_clients(until);
  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 600));
    f.w->kill_and_restart_server();
    ++kills;
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(kills, 4);
  f.check_outcomes();
  f.deadline_then_collect();
  // What the kills hit: retries the clients needed, and uploads they had to create twice.
  int retries = 0;
  for (const auto& u : f.cases)
    retries += u.retries;
  RecordProperty("client_retries", retries);
  RecordProperty("uploads_rows", static_cast<int>(f.w->rows("uploads")));
  EXPECT_GT(retries, 0) << "no kill interrupted an upload: the test showed nothing";
}

TEST(upload_faults, postgres_restarted_during_uploads) {
  // A cluster of this test's own: restarting the shared one would disturb other tests.
  const std::string dir = tender::test::make_temp_dir("pgrestart");
  const auto port = tender::test::free_port();
  const std::string pg = tender::test::repo_root() + "/deploy/pg.sh";
  const auto start = tender::test::run_command(
      {"/bin/bash", pg, "start", "--dir", dir, "--port", std::to_string(port), "--throwaway"});
  ASSERT_EQ(start.exit_code, 0) << start.output;
  struct stop_at_exit {
    std::string pg, dir;
    ~stop_at_exit() {
      tender::test::run_command({"/bin/bash", pg, "stop", "--dir", dir, "--remove"});
    }
  } guard{pg, dir};
  const auto cluster = tender::test::read_file(dir + "/conninfo");
  {
    faults_e2e f("uppg", cluster.substr(0, cluster.find_last_not_of(" \n") + 1));
    const auto until = std::chrono::steady_clock::now() + 120s;  // a limit (see above)
    auto threads = f.start_clients(until);
    std::mt19937 rng(std::random_device{}());
    for (int i = 0; i < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 500));
      const auto stop = tender::test::run_command({"/bin/bash", pg, "stop", "--dir", dir});
      EXPECT_EQ(stop.exit_code, 0) << stop.output;
      std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
      const auto again = tender::test::run_command(
          {"/bin/bash", pg, "start", "--dir", dir, "--port", std::to_string(port), "--throwaway"});
      EXPECT_EQ(again.exit_code, 0) << again.output;
    }
    for (auto& t : threads)
      t.join();
    f.check_outcomes();
    f.deadline_then_collect();
    int retries = 0;
    for (const auto& u : f.cases)
      retries += u.retries;
    EXPECT_GT(retries, 0) << "no restart interrupted an upload: the test showed nothing";
  }
}
