// The hall under faults during the decryption window, on the real tenderd and
// PostgreSQL with SDK sessions: tenderd killed with SIGKILL and restarted, and
// PostgreSQL stopped and started under it. Nothing acknowledged is lost (every
// acknowledged attempt ends done), the downtime is recorded as a platform
// outage, a bid that could not be opened because of it is withdrawn on the
// platform's side after the host extended the window, and every client resumes
// by seq with a gap-free history.
#include <hall_world.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace {

namespace hall = tender::client::hall;
namespace json = boost::json;
using tender::test::actor;
using tender::test::data_of;
using tender::test::hall_bidder;
using tender::test::hall_world;
using tender::test::world;

std::map<std::string, std::string> fault_env(const std::string& hint) {
  return {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"},
          {"TENDERD_HALL_HEARTBEAT_MS", "100"},
          {"TENDERD_HALL_OUTAGE_THRESHOLD_MS", "500"},
          // The same data directory and port across restarts: the sessions keep
          // their URL.
          {"TENDERD_STORAGE_DATA_DIR", tender::test::make_temp_dir(hint + "-data")},
          {"TENDERD_LISTEN_PORT", std::to_string(tender::test::free_port())}};
}

void expect_gap_free(const std::vector<hall::event>& events, const std::string& who) {
  for (std::size_t i = 1; i < events.size(); ++i)
    ASSERT_EQ(events[i].seq, events[i - 1].seq + 1) << who;
}

hall::act_result decrypt(hall::blocking_session& s, const hall_bidder& b) {
  const auto key = b.file_key();
  return s.signed_act("decrypt", hall::decrypt_params(1, "primary", key),
                      hall::decrypt_payload(1, "primary", key), b.signer(), 60s);
}

bool done(const hall::event& e, const hall_bidder& b) {
  if (e.kind != "decryption_status") return false;
  const auto d = data_of(e);
  return d.at("org_id").as_string() == b.who->org_id && d.at("status").as_string() == "done";
}

// One window with an outage in it: b0 decrypted before, b1 just before the
// fault (its attempt may still be running), b2 after; b3 never. `fault` breaks
// and repairs the platform.
void window_with_outage(world& w, const std::function<void()>& fault) {
  auto& host = w.user("hx-host", "hx-center", "center", {"center_staff"});
  auto& owner = w.user("hx-owner", "hx-ownco", "tenderer", {"tenderer"});
  hall_world h(w, owner);
  const auto t = h.make_tender({.suffix = "f1"});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 4; ++i)
    b.push_back(&h.add_bidder(t, 400 + i));
  auto host_s = h.join(t, &host);
  h.open_window(t, *host_s);
  std::vector<std::unique_ptr<hall::blocking_session>> s;
  for (auto* x : b)
    s.push_back(h.join(t, x->who));

  ASSERT_TRUE(decrypt(*s[0], *b[0]).ok);
  host_s->wait_for([&](const hall::event& e) { return done(e, *b[0]); }, 30s);
  ASSERT_TRUE(decrypt(*s[1], *b[1]).ok);  // acknowledged: must survive the fault
  fault();

  const auto outage = data_of(host_s->wait_for_kind("outage_recorded", 60s));
  EXPECT_GT(outage.at("seconds").to_number<double>(), 0.0);
  ASSERT_TRUE(decrypt(*s[2], *b[2]).ok);
  host_s->wait_for([&](const hall::event& e) { return done(e, *b[1]); }, 60s);
  host_s->wait_for([&](const hall::event& e) { return done(e, *b[2]); }, 60s);
  const auto extended = json::parse(hall::expect_ok(host_s->act(
      "extend_window", R"({"seconds":60,"reason":"platform outage: tenderd restarted"})")));
  EXPECT_TRUE(extended.as_object().contains("window_closes_at"));

  h.close_window_now(t);
  host_s->wait_for_kind("window_closed", 30s);
  const auto final = h.final_status(*host_s);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(final.at(b[i]->who->org_id).at("status").as_string(), "done") << i;
  const auto& f3 = final.at(b[3]->who->org_id);
  EXPECT_EQ(f3.at("cause").as_string(), "platform_outage");
  EXPECT_EQ(f3.at("side").as_string(), "platform");
  EXPECT_EQ(f3.at("treatment").as_string(), "withdrawn");

  // Every session resumed without a gap and saw the same history as the host.
  const auto head = host_s->last_seq();
  expect_gap_free(host_s->events(), "host");
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i]->wait_for([&](const hall::event& e) { return e.seq == head; }, 30s);
    expect_gap_free(s[i]->events(), "bidder " + std::to_string(i));
  }
}

TEST(hall_faults, tenderd_killed_during_the_window) {
  world w("hall_kill", fault_env("hall_kill"));
  // Down for longer than the outage threshold (500 ms); a restart quicker than that is not an
  // outage.
  window_with_outage(w, [&] { w.kill_and_restart_server(1500ms); });
}

TEST(hall_faults, postgres_restarted_during_the_window) {
  // A cluster of this test's own: restarting the shared one would disturb other
  // tests.
  const std::string dir = tender::test::make_temp_dir("hallpg");
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
  world w("hall_pg", fault_env("hall_pg"), cluster.substr(0, cluster.find_last_not_of(" \n") + 1));
  window_with_outage(w, [&] {
    const auto stop = tender::test::run_command({"/bin/bash", pg, "stop", "--dir", dir});
    EXPECT_EQ(stop.exit_code, 0) << stop.output;
    // Down for longer than the outage threshold (500 ms): the heartbeats cannot
    // be written.
    std::this_thread::sleep_for(1500ms);
    const auto again = tender::test::run_command(
        {"/bin/bash", pg, "start", "--dir", dir, "--port", std::to_string(port), "--throwaway"});
    EXPECT_EQ(again.exit_code, 0) << again.output;
  });
}

}  // namespace
