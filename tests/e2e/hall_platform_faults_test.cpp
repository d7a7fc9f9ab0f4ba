// Faults of the platform under a decryption (issue 15 §2, hall-protocol.md §10), on the real
// tenderd, PostgreSQL and blob store with SDK sessions: a sealed file deleted or damaged in the
// store, a decryption whose worker never finishes (its file is a FIFO nobody writes: a read
// that hangs), tenderd killed between an attempt and its outcome, and the storage collector
// running over a hall's backup file. Each opening still reaches a signed record, and each failed
// bid carries the platform's cause (withdrawn) with its evidence, never the bidder's.
#include <hall_world.hpp>

#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace std::chrono_literals;

namespace {

namespace hall = tender::client::hall;
namespace json = boost::json;
namespace fs = std::filesystem;
using tender::test::actor;
using tender::test::data_of;
using tender::test::hall_bidder;
using tender::test::hall_world;
using tender::test::world;

std::string text(const json::object& o, const char* key) {
  const auto& v = o.at(key);
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

class hall_platform_faults : public ::testing::Test {
protected:
  hall_platform_faults()
      : data(tender::test::make_temp_dir("hall_plat-data")),
        w("hall_plat", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"},
                        {"TENDERD_HALL_DECRYPT_TIMEOUT_MS", "1000"},
                        // A restart under -j2 load may take seconds: that is not what these
                        // tests are about, so no heartbeat gap is taken for an outage.
                        {"TENDERD_HALL_OUTAGE_THRESHOLD_MS", "600000"},
                        {"TENDERD_STORAGE_DATA_DIR", data},
                        // The same port across restarts: the sessions keep their URL.
                        {"TENDERD_LISTEN_PORT", std::to_string(tender::test::free_port())}}),
        host(w.user("hp-host", "hp-center", "center", {"center_staff"})),
        owner(w.user("hp-owner", "hp-ownco", "tenderer", {"tenderer"})),
        h(w, owner) {}

  ~hall_platform_faults() override {
    // A worker still blocked opening a FIFO is released, so tenderd stops cleanly.
    for (const auto& f : fifos)
      release_fifo(f);
  }

  fs::path blob_path(const std::string& digest) const {
    return fs::path(data) / "blobs" / "sha256" / digest.substr(0, 2) / digest;
  }
  std::string primary_digest(const hall_bidder& b) {
    return w.db().query_value("SELECT blob_digest FROM bids WHERE bidder_org = '" + b.who->org_id +
                              "' AND status = 'current'");
  }

  // The sealed file in the store becomes a FIFO: opening it blocks until someone writes, which
  // no one does. A worker that reads it hangs there, as on a dead disk or network mount.
  void make_fifo(const fs::path& p) {
    fs::remove(p);
    ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0) << p;
    fifos.push_back(p);
  }
  static void release_fifo(const fs::path& p) {
    // A reader blocked in open() counts as a reader: a non-blocking writer can open and close,
    // which ends its wait (it then reads an empty file).
    const int fd = ::open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }

  hall::act_result decrypt(hall::blocking_session& s, const hall_bidder& b,
                           const std::string& file = "primary", std::string key = {}) {
    if (key.empty()) key = b.file_key();
    return s.signed_act("decrypt", hall::decrypt_params(1, file, key),
                        hall::decrypt_payload(1, file, key), b.signer(), 60s);
  }

  json::object status_of(hall::blocking_session& s, const hall_bidder& b, const std::string& status,
                         std::chrono::seconds timeout = 30s) {
    return data_of(s.wait_for(
        [&](const hall::event& e) {
          if (e.kind != "decryption_status") return false;
          const auto d = data_of(e);
          return d.at("org_id").as_string() == b.who->org_id &&
                 d.at("status").as_string() == status;
        },
        timeout));
  }

  // From the closed window to the published record: the announcement (no draw), no
  // confirmation, the confirmation window closed by the clock. Returns the record's decryption
  // entries by organisation, after checking the record's signature.
  std::map<std::string, json::object> record(const std::string& t, hall::blocking_session& host_s) {
    hall::expect_ok(host_s.act("announce"));
    h.close_confirmations_now(t);
    host_s.wait_for_kind("recorded", 30s);
    auto anon = w.anonymous();
    const auto file = hall::opening_record(*anon, t);
    const auto key = tender::crypto::note::parse_verifier_key(anon->log_key());
    const auto check = tender::crypto::verify_record_file(file, key);
    EXPECT_EQ(check.tender_id, t);
    std::map<std::string, json::object> out;
    const auto rec = json::parse(file).at("record").as_object();
    for (const auto& d : rec.at("decryption").as_array())
      out[std::string(d.at("org_id").as_string())] = d.as_object();
    return out;
  }

  void expect_platform(const json::object& d, const std::string& cause, const std::string& who) {
    EXPECT_EQ(text(d, "status"), "failed") << who;
    EXPECT_EQ(text(d, "cause"), cause) << who;
    EXPECT_EQ(text(d, "side"), "platform") << who;
    EXPECT_EQ(text(d, "treatment"), "withdrawn") << who;
  }

  std::string data;
  world w;
  actor& host;
  actor& owner;
  hall_world h;
  std::vector<fs::path> fifos;
};

TEST_F(hall_platform_faults, a_lost_or_damaged_file_is_withdrawn_and_the_record_is_made) {
  const auto t = h.make_tender({.suffix = "f1"});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 4; ++i)
    b.push_back(&h.add_bidder(t, 500 + i));
  auto host_s = h.join(t, &host);
  h.open_window(t, *host_s);
  std::vector<std::unique_ptr<hall::blocking_session>> s;
  for (auto* x : b)
    s.push_back(h.join(t, x->who));

  // b1's sealed file is lost from the store; one byte of b2's is flipped near its end (in the
  // body: its header, kept in the database too, still checks the key).
  const auto lost = blob_path(primary_digest(*b[1]));
  ASSERT_TRUE(fs::remove(lost));
  const auto damaged = blob_path(primary_digest(*b[2]));
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-100, std::ios::end);
    char c = 0;
    f.get(c);
    f.seekp(-100, std::ios::end);
    f.put(static_cast<char>(c ^ 0x01));
  }

  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(decrypt(*s[i], *b[i]).ok) << i;
  status_of(*host_s, *b[0], "done");
  const auto f1 = status_of(*host_s, *b[1], "failed");
  EXPECT_EQ(text(f1, "cause"), "file_unavailable");
  EXPECT_EQ(text(f1, "side"), "platform");
  EXPECT_NE(text(f1, "message").find("missing"), std::string::npos) << text(f1, "message");
  const auto f2 = status_of(*host_s, *b[2], "failed");
  EXPECT_EQ(text(f2, "cause"), "file_unavailable");
  EXPECT_NE(text(f2, "message").find("damaged"), std::string::npos) << text(f2, "message");

  h.close_window_now(t);
  host_s->wait_for_kind("window_closed", 30s);
  const auto rec = record(t, *host_s);
  EXPECT_EQ(text(rec.at(b[0]->who->org_id), "status"), "done");
  expect_platform(rec.at(b[1]->who->org_id), "file_unavailable", "lost file");
  expect_platform(rec.at(b[2]->who->org_id), "file_unavailable", "damaged file");
  EXPECT_NE(text(rec.at(b[2]->who->org_id), "message").find("sha256"), std::string::npos);
  EXPECT_EQ(text(rec.at(b[3]->who->org_id), "cause"), "no_attempt");
  EXPECT_EQ(text(rec.at(b[3]->who->org_id), "treatment"), "revoked");
}

TEST_F(hall_platform_faults, a_decryption_that_never_finishes_ends_at_the_timeout) {
  const auto t = h.make_tender({.suffix = "f2"});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 3; ++i)
    b.push_back(&h.add_bidder(t, 510 + i));
  auto host_s = h.join(t, &host);
  h.open_window(t, *host_s);
  auto s0 = h.join(t, b[0]->who);
  auto s1 = h.join(t, b[1]->who);

  make_fifo(blob_path(primary_digest(*b[0])));
  ASSERT_TRUE(decrypt(*s0, *b[0]).ok);  // its worker now hangs on the file
  ASSERT_TRUE(decrypt(*s1, *b[1]).ok);  // the other worker still opens this one
  status_of(*host_s, *b[1], "done");

  // The close waits for the running attempt only hall.decrypt_timeout_ms (1 s) after the
  // window's end, then ends it on the platform's side and closes.
  h.close_window_now(t);
  host_s->wait_for_kind("window_closed", 60s);
  const auto final = h.final_status(*host_s);
  const auto& f0 = final.at(b[0]->who->org_id);
  EXPECT_EQ(text(f0, "cause"), "decryption_incomplete");
  EXPECT_EQ(text(f0, "treatment"), "withdrawn");
  EXPECT_NE(text(f0, "message").find("did not finish"), std::string::npos) << text(f0, "message");

  // The hung worker returns late; its outcome changes nothing.
  release_fifo(blob_path(primary_digest(*b[0])));
  const auto rec = record(t, *host_s);
  expect_platform(rec.at(b[0]->who->org_id), "decryption_incomplete", "hung decryption");
  EXPECT_EQ(text(rec.at(b[1]->who->org_id), "status"), "done");
  EXPECT_EQ(text(rec.at(b[2]->who->org_id), "cause"), "no_attempt");
}

TEST_F(hall_platform_faults, tenderd_killed_between_attempt_and_outcome) {
  const auto t = h.make_tender({.suffix = "f3"});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 3; ++i)
    b.push_back(&h.add_bidder(t, 520 + i));
  auto host_s = h.join(t, &host);
  h.open_window(t, *host_s);
  auto s0 = h.join(t, b[0]->who);
  auto s1 = h.join(t, b[1]->who);

  // Both attempts are acknowledged and hang in their workers (their files are FIFOs); tenderd
  // dies with them. Meanwhile b0's file is lost for good and b1's comes back.
  const auto p0 = blob_path(primary_digest(*b[0]));
  const auto p1 = blob_path(primary_digest(*b[1]));
  const auto saved = tender::test::read_file(p1.string());
  make_fifo(p0);
  make_fifo(p1);
  ASSERT_TRUE(decrypt(*s0, *b[0]).ok);
  ASSERT_TRUE(decrypt(*s1, *b[1]).ok);
  w.kill_and_restart_server([&] {
    fs::remove(p0);
    fs::remove(p1);
    std::ofstream(p1, std::ios::binary) << saved;
  });
  fifos.clear();

  // At start the pending attempts run again: b1 opens, b0 ends on the platform's side.
  const auto f0 = status_of(*host_s, *b[0], "failed", 60s);
  EXPECT_EQ(text(f0, "cause"), "file_unavailable");
  status_of(*host_s, *b[1], "done", 60s);
  h.close_window_now(t);
  host_s->wait_for_kind("window_closed", 30s);
  const auto rec = record(t, *host_s);
  expect_platform(rec.at(b[0]->who->org_id), "file_unavailable", "lost during the restart");
  EXPECT_EQ(text(rec.at(b[1]->who->org_id), "status"), "done");
}

TEST_F(hall_platform_faults, the_collector_keeps_the_files_of_backups_and_attempts) {
  const auto t = h.make_tender({.suffix = "f4"});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 3; ++i)
    b.push_back(&h.add_bidder(t, 530 + i, /*backup=*/i == 0));
  auto host_s = h.join(t, &host);
  h.open_window(t, *host_s);
  auto s0 = h.join(t, b[0]->who);

  const auto path = tender::test::temp_file_with("hp-backup.thsb", b[0]->backup);
  hall::upload_backup(*b[0]->who->api, t, 1, path);
  // The backup is sealed under a key of its own.
  const auto backup_key = hall::unwrap_key_from_file(path, b[0]->enc_pem()).key;
  fs::remove(path);
  const auto backup = blob_path(w.db().query_value(
      "SELECT blob_digest FROM hall_backups WHERE org_id = '" + b[0]->who->org_id + "'"));
  ASSERT_TRUE(fs::exists(backup));
  // Both the backup and an unreferenced blob look older than the collector's grace (an hour).
  // The unreferenced one going away shows that the collector ran.
  const auto stray = blob_path(std::string(64, 'e'));
  fs::create_directories(stray.parent_path());
  std::ofstream(stray) << "nobody's";
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(backup, old);
  fs::last_write_time(stray, old);

  // The collector runs at start.
  w.restart_server();
  for (int i = 0; i < 600 && fs::exists(stray); ++i)
    std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(fs::exists(stray)) << "the collector did not run";
  EXPECT_TRUE(fs::exists(backup)) << "the hall's backup file was collected";

  ASSERT_TRUE(decrypt(*s0, *b[0], "backup", backup_key).ok);
  const auto done = status_of(*host_s, *b[0], "done", 60s);
  EXPECT_EQ(text(done, "via"), "backup");
}

}  // namespace
