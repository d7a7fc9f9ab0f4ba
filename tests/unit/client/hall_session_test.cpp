// The SDK's hall session (client/hall.hpp) against a scripted WebSocket server in this process:
// hello with and without a cursor, events delivered once and in order, an act answered by its
// ack, a gap in the seq numbers and a dropped connection both resumed with `after = last seq`, a
// fatal refusal ending the session, and the §8 signed message. The real server is exercised in
// tests/e2e/hall_*_test.cpp.
#include <tender/client/hall.hpp>
#include <tender/crypto/digest.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
namespace hall = tender::client::hall;
using tcp = asio::ip::tcp;

// Accepts connections one at a time on a thread; `script` runs each one with blocking I/O.
class fake_hall {
public:
  using script_fn = std::function<void(int connection, websocket::stream<tcp::socket>& ws,
                                       const json::object& hello)>;

  explicit fake_hall(script_fn script)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_hall() {
    stopping_ = true;
    // Wake the blocking accept with one last connection.
    try {
      asio::io_context io;
      tcp::socket poke(io);
      poke.connect(acceptor_.local_endpoint());
    } catch (const std::exception&) {
    }
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::vector<json::object> hellos() {
    std::lock_guard lock(mu_);
    return hellos_;
  }

  static json::object read(websocket::stream<tcp::socket>& ws) {
    beast::flat_buffer b;
    ws.read(b);
    return json::parse(beast::buffers_to_string(b.data())).as_object();
  }
  static void send(websocket::stream<tcp::socket>& ws, const json::object& o) {
    ws.text(true);
    ws.write(asio::buffer(json::serialize(o)));
  }
  static json::object event(std::int64_t seq) {
    return {{"type", "event"}, {"seq", seq},       {"kind", "signed_in"},
            {"at", "t"},       {"actor", nullptr}, {"data", json::object{{"n", seq}}}};
  }

private:
  void serve() {
    for (int n = 0; !stopping_; ++n) {
      tcp::socket sock(ioc_);
      beast::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stopping_) return;
      try {
        websocket::stream<tcp::socket> ws(std::move(sock));
        ws.accept();
        const auto hello = read(ws);
        {
          std::lock_guard lock(mu_);
          hellos_.push_back(hello);
        }
        script_(n, ws, hello);
      } catch (const std::exception&) {
        // the client went away: next connection
      }
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  script_fn script_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<json::object> hellos_;
};

json::object welcome(std::int64_t head) {
  return {{"type", "welcome"},
          {"tender_id", "t-1"},
          {"viewer", {{"role", "bidder"}, {"user_id", "u-1"}, {"org_id", "o-1"}}},
          {"head", head},
          {"server_time", "now"}};
}

hall::session_options options_for(const fake_hall& server) {
  hall::session_options o;
  o.server.server = server.url();
  o.server.timeout = 5s;
  o.tender_id = "t-1";
  o.token = "tok";
  o.reconnect_delay = 10ms;
  return o;
}

TEST(hall_session, delivers_in_order_answers_acts_and_resumes_after_a_gap_and_a_drop) {
  fake_hall server([](int n, websocket::stream<tcp::socket>& ws, const json::object& hello) {
    if (n == 0) {
      fake_hall::send(ws, welcome(2));
      fake_hall::send(ws, {{"type", "snapshot"}, {"seq", 1}, {"hall", {{"phase", "waiting"}}}});
      fake_hall::send(ws, fake_hall::event(1));  // already in the snapshot: not delivered again
      fake_hall::send(ws, fake_hall::event(2));
      const auto act = fake_hall::read(ws);
      EXPECT_EQ(act.at("type").as_string(), "act");
      EXPECT_EQ(act.at("action").as_string(), "object");
      EXPECT_EQ(act.at("text").as_string(), "hello");
      fake_hall::send(ws, {{"type", "ack"},
                           {"id", act.at("id")},
                           {"seq", 3},
                           {"result", {{"objection_id", "ob-1"}}}});
      fake_hall::send(ws, fake_hall::event(3));
      fake_hall::send(ws, fake_hall::event(5));  // 4 is missing: the client must resume
      fake_hall::read(ws);                       // until the client drops the connection
    } else if (n == 1) {
      EXPECT_EQ(hello.at("after").as_int64(), 3);
      fake_hall::send(ws, welcome(5));
      fake_hall::send(ws, fake_hall::event(4));
      fake_hall::send(ws, fake_hall::event(5));
      // The connection drops without a close.
    } else {
      EXPECT_EQ(hello.at("after").as_int64(), 5);
      fake_hall::send(ws, welcome(6));
      fake_hall::send(ws, fake_hall::event(6));
      fake_hall::read(ws);
    }
  });

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::int64_t> seen;
  int disconnects = 0;
  auto o = options_for(server);
  o.on_event = [&](const hall::event& e) {
    std::lock_guard lock(mu);
    seen.push_back(e.seq);
    cv.notify_all();
  };
  o.on_disconnect = [&](const tender::client::error&) {
    std::lock_guard lock(mu);
    ++disconnects;
  };
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  hall::session s(ioc, o);
  std::thread io([&] { ioc.run(); });
  s.start();
  std::promise<hall::act_result> answered;
  s.act("object", R"({"text":"hello"})", [&](hall::act_result r) { answered.set_value(r); });
  auto f = answered.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  const auto r = f.get();
  EXPECT_TRUE(r.ok) << r.code;
  EXPECT_EQ(r.seq, 3);
  EXPECT_EQ(json::parse(r.result_json).at("objection_id").as_string(), "ob-1");
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return seen.size() >= 5; }));
    EXPECT_EQ(seen, (std::vector<std::int64_t>{2, 3, 4, 5, 6}));
    EXPECT_GE(disconnects, 2);
  }
  EXPECT_EQ(s.last_seq(), 6);
  EXPECT_EQ(s.viewer()->org_id, "o-1");
  s.close();
  guard.reset();
  ioc.stop();
  io.join();
  const auto hellos = server.hellos();
  ASSERT_GE(hellos.size(), 3u);
  EXPECT_TRUE(hellos[0].at("after").is_null());
  EXPECT_EQ(hellos[0].at("token").as_string(), "tok");
}

// The summary view (hall-protocol.md §4.1): a skipped range comes alone or inside a progress
// message; either moves the cursor, and one that leaves a hole makes the client resume.
TEST(hall_session, skips_alone_or_inside_progress_move_the_cursor_and_a_hole_resumes) {
  fake_hall server([](int n, websocket::stream<tcp::socket>& ws, const json::object& hello) {
    if (n == 0) {
      fake_hall::send(ws, welcome(0));
      fake_hall::send(ws, {{"type", "snapshot"}, {"seq", 0}, {"hall", {{"phase", "waiting"}}}});
      fake_hall::send(ws, fake_hall::event(1));
      fake_hall::send(ws, {{"type", "skip"}, {"from", 2}, {"to", 4}});
      fake_hall::send(
          ws,
          {{"type", "progress"}, {"hall", {{"signed_in", 7}}}, {"skip", {{"from", 5}, {"to", 9}}}});
      fake_hall::send(ws, fake_hall::event(10));
      fake_hall::send(ws, {{"type", "progress"}, {"hall", {{"signed_in", 8}}}});
      // 11 is neither sent nor skipped: the client must resume from 10.
      fake_hall::send(ws, {{"type", "progress"},
                           {"hall", {{"signed_in", 9}}},
                           {"skip", {{"from", 12}, {"to", 13}}}});
      fake_hall::read(ws);
    } else {
      EXPECT_EQ(hello.at("after").as_int64(), 10);
      fake_hall::send(ws, welcome(13));
      fake_hall::send(ws, {{"type", "progress"},
                           {"hall", {{"signed_in", 9}}},
                           {"skip", {{"from", 11}, {"to", 13}}}});
      fake_hall::read(ws);
    }
  });
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::int64_t> events;
  std::vector<std::pair<std::int64_t, std::int64_t>> skips;
  std::vector<std::string> progress;
  auto o = options_for(server);
  o.view = "summary";
  o.on_event = [&](const hall::event& e) {
    std::lock_guard lock(mu);
    events.push_back(e.seq);
  };
  o.on_skip = [&](std::int64_t from, std::int64_t to) {
    std::lock_guard lock(mu);
    skips.emplace_back(from, to);
    cv.notify_all();
  };
  o.on_progress = [&](const std::string& h) {
    std::lock_guard lock(mu);
    progress.push_back(h);
    cv.notify_all();
  };
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  hall::session s(ioc, o);
  std::thread io([&] { ioc.run(); });
  s.start();
  {
    std::unique_lock lock(mu);
    // The last progress comes after its skip: wait for both.
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return skips.size() >= 3 && progress.size() >= 3; }));
    EXPECT_EQ(events, (std::vector<std::int64_t>{1, 10}));
    EXPECT_EQ(skips,
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 4}, {5, 9}, {11, 13}}));
    // The progress with the hole was not taken; the others were, each after its skip.
    EXPECT_EQ(json::parse(progress[2]).at("signed_in").as_int64(), 9);
    EXPECT_EQ(json::parse(progress[0]).at("signed_in").as_int64(), 7);
    EXPECT_EQ(json::parse(progress[1]).at("signed_in").as_int64(), 8);
  }
  EXPECT_EQ(s.last_seq(), 13);
  s.close();
  guard.reset();
  ioc.stop();
  io.join();
  const auto hellos = server.hellos();
  ASSERT_GE(hellos.size(), 2u);
  EXPECT_EQ(hellos[0].at("view").as_string(), "summary");
}

TEST(hall_session, a_refused_hello_ends_the_session_and_fails_pending_acts) {
  fake_hall server([](int, websocket::stream<tcp::socket>& ws, const json::object&) {
    fake_hall::send(ws, {{"type", "error"},
                         {"id", nullptr},
                         {"error", {{"code", "auth.invalid_token"}, {"message", "bad token"}}}});
  });
  auto o = options_for(server);
  std::promise<std::string> fatal;
  o.on_fatal = [&](const tender::client::error& e) { fatal.set_value(e.code()); };
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  hall::session s(ioc, o);
  std::thread io([&] { ioc.run(); });
  std::promise<hall::act_result> answered;
  s.start();
  s.act("challenge", "{}", [&](hall::act_result r) { answered.set_value(r); });
  auto ff = fatal.get_future();
  ASSERT_EQ(ff.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(ff.get(), "auth.invalid_token");
  auto af = answered.get_future();
  ASSERT_EQ(af.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(af.get().code, "client.closed");
  s.close();
  guard.reset();
  ioc.stop();
  io.join();
  EXPECT_EQ(server.hellos().size(), 1u);  // no reconnection after a refusal
}

TEST(hall_session, blocking_session_waits_for_welcome_and_snapshot_and_answers) {
  fake_hall server([](int, websocket::stream<tcp::socket>& ws, const json::object&) {
    fake_hall::send(ws, welcome(0));
    fake_hall::send(ws, {{"type", "snapshot"}, {"seq", 0}, {"hall", {{"phase", "listed"}}}});
    for (;;) {
      const auto act = fake_hall::read(ws);
      fake_hall::send(ws, {{"type", "error"},
                           {"id", act.at("id")},
                           {"error", {{"code", "hall.wrong_phase"}, {"message", "not now"}}}});
      fake_hall::send(ws, fake_hall::event(1));
    }
  });
  hall::blocking_session s(options_for(server));
  EXPECT_EQ(s.last_welcome().viewer.role, "bidder");
  EXPECT_EQ(json::parse(s.first_snapshot()->hall_json).at("phase").as_string(), "listed");
  const auto r = s.act("draw");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, "hall.wrong_phase");
  EXPECT_THROW(hall::expect_ok(r), tender::client::error);
  EXPECT_EQ(s.wait_for_kind("signed_in", 10s).seq, 1);
}

TEST(hall_signatures, message_and_payloads_follow_section_8) {
  EXPECT_EQ(hall::signed_message("t-1", "confirm", "ch-1", "AAAA", "abc"),
            "tenderhall-hall-v1\nt-1\nconfirm\nch-1\nAAAA\nabc");
  const std::string key(32, '\x01');
  EXPECT_EQ(hall::decrypt_payload(2, "backup", key),
            "2\nbackup\n" + tender::crypto::to_hex(tender::crypto::sha256(key)));
  const auto n = hall::make_nonce();
  EXPECT_EQ(n.nonce.size(), 32u);
  EXPECT_EQ(n.nonce_hex.size(), 64u);
  EXPECT_EQ(n.commitment, tender::crypto::to_hex(tender::crypto::sha256(n.nonce)));
  EXPECT_NE(hall::make_nonce().nonce, n.nonce);
  EXPECT_EQ(hall::share_context("t-1", 3, "o-9"), "t-1/lot/3/o-9");
  EXPECT_EQ(json::parse(hall::decrypt_params(1, "primary", key)).at("key_material").as_string(),
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=");
}

}  // namespace
