// The opening hall's WebSocket protocol end to end (protocol/docs/hall-protocol.md §4), against
// the real tenderd on a real PostgreSQL, with a small raw WebSocket client: hello rules, snapshot
// and live events, exact resumes, refusals that change nothing, audiences and redaction, a slow
// consumer dropped and resumed without loss, and two tenderd nodes on one database.
#include <world.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tender::test::actor;
using tender::test::error_code_of;
using tender::test::wait_until;
using tender::test::world;

// A raw hall client: one JSON object per text message, reads with an upper bound on the wait.
class hall_client {
public:
  hall_client(std::uint16_t port, const std::string& tender_id) : ws_(ioc_) {
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    beast::get_lowest_layer(ws_).connect(ep);
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/ws/halls/" + tender_id);
  }
  ~hall_client() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  void send(const std::string& text) {
    beast::error_code ec;
    ws_.write(asio::buffer(text), ec);
  }
  void send(const json::object& o) { send(json::serialize(o)); }

  void hello(const std::string& token, std::optional<std::int64_t> after = std::nullopt) {
    json::object o{{"type", "hello"}};
    o["token"] = token.empty() ? json::value(nullptr) : json::value(token);
    o["after"] = after ? json::value(*after) : json::value(nullptr);
    send(o);
  }

  // The next message; nullopt when the connection ended (closed() is then true) or nothing came
  // within `timeout`.
  std::optional<json::object> next(std::chrono::milliseconds timeout = 10s) {
    if (closed_ || timed_out_) return std::nullopt;
    beast::flat_buffer buffer;
    beast::error_code result;
    bool done = false;
    beast::get_lowest_layer(ws_).expires_after(timeout);
    ws_.async_read(buffer, [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    ioc_.restart();
    while (!done)
      ioc_.run_one();
    if (result) {
      // After a timeout the stream is unusable too, but that is not the server closing it.
      (result == beast::error::timeout ? timed_out_ : closed_) = true;
      return std::nullopt;
    }
    const auto v = json::parse(beast::buffers_to_string(buffer.data()));
    return v.as_object();
  }

  // The next message that is not an event (events met on the way are kept in `events`).
  std::optional<json::object> next_reply(std::chrono::milliseconds timeout = 10s) {
    for (;;) {
      auto m = next(timeout);
      if (!m) return m;
      if (m->at("type").as_string() == "event") {
        events.push_back(*m);
        continue;
      }
      return m;
    }
  }

  // Reads until an event with seq >= `seq` has arrived (or the connection ends).
  bool events_until(std::int64_t seq, std::chrono::milliseconds timeout = 15s) {
    while (events.empty() || events.back().at("seq").as_int64() < seq) {
      auto m = next(timeout);
      if (!m) return false;
      if (m->at("type").as_string() == "event") events.push_back(*m);
    }
    return true;
  }

  // The server ended the connection (not: a read timed out).
  bool closed() const { return closed_; }
  // The close frame's code once closed (0: the connection ended without one).
  int close_code() const { return static_cast<int>(ws_.reason().code); }
  std::string close_reason() const { return std::string(ws_.reason().reason.c_str()); }

  std::vector<json::object> events;

private:
  asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  bool closed_ = false;
  bool timed_out_ = false;
};

std::string tail(const std::string& log) {
  return log.size() > 6000 ? log.substr(log.size() - 6000) : log;
}

std::string code_of(const json::object& m) {
  if (m.at("type").as_string() != "error") return "(not an error: " + json::serialize(m) + ")";
  return std::string(m.at("error").at("code").as_string());
}

json::object act(const std::string& id, const std::string& action, json::object params = {}) {
  params["type"] = "act";
  params["id"] = id;
  params["action"] = action;
  return params;
}

// Checks that `events` continue `after` with seq after+1, after+2, ... and no duplicates.
void expect_contiguous(const std::vector<json::object>& events, std::int64_t after) {
  std::int64_t expect = after + 1;
  for (const auto& e : events) {
    ASSERT_EQ(e.at("seq").as_int64(), expect) << json::serialize(e);
    ++expect;
  }
}

class hall_e2e : public ::testing::Test {
protected:
  hall_e2e()
      : w("hall", {{"TENDERD_LIMITS_WEBSOCKET_QUEUE_MESSAGES", "64"},
                   {"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"},
                   {"TENDERD_HALL_HUB_IDLE_MS", "1000"},
                   // The periodic session re-check never runs on this node (an hour): a
                   // test that needs it starts a node of its own.
                   {"TENDERD_HALL_SESSION_RECHECK_MS", "3600000"}}),
        host(w.user("h-host", "h-center", "center", {"center_staff"})),
        super(w.user("h-super", "h-supco", "supervision", {"supervisor"})),
        owner(w.user("h-owner", "h-ownco", "tenderer", {"tenderer"})),
        b1(w.user("h-b1", "bidder-1", "bidder", {"bidder"})),
        b2(w.user("h-b2", "bidder-2", "bidder", {"bidder"})),
        outsider(w.user("h-out", "h-outco", "bidder", {"bidder"})) {}

  // A published tender with one lot and three current bids (rows only), its deadline an hour
  // away; the hall is made by the host's first look.
  std::string make_tender(const std::string& suffix) {
    const std::string id = "t-00000000000000" + suffix;
    w.db().exec(
        "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
        "state, published_at, deadline_at, opening_at, key_policy) VALUES ('" +
        id + "', 'H-" + suffix + "', 'Hall " + suffix + "', 'works', 'sandbox', '" + owner.org_id +
        "', '" + owner.user_id +
        "', 'published', now(), clock_timestamp() + interval '1 hour', clock_timestamp() + "
        "interval '2 hours', 'bidder_only')");
    w.db().exec(
        "INSERT INTO lots (tender_id, lot_no, title, estimated_price, summary_fields) VALUES ('" +
        id +
        "', 1, 'Lot', 100000000, '[{\"key\":\"price\",\"label\":\"投标报价\",\"type\":"
        "\"money\"}]')");
    w.db().exec(
        "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.deadline', id, "
        "deadline_at FROM tenders WHERE id = '" +
        id + "'");
    tender::test::add_bid_rows(w, id);
    const auto r = host.api->request("GET", "/api/v1/tenders/" + id + "/hall");
    EXPECT_EQ(r.status, 200u) << r.body;
    return id;
  }

  std::int64_t head(const std::string& t) {
    return std::stoll(
        w.db().query_value("SELECT last_seq FROM halls WHERE tender_id = '" + t + "'"));
  }

  // Row counts of the hall's tables and the audit log: a refusal must change none.
  std::string rows() {
    return w.db().query_value(
        "SELECT (SELECT count(*) FROM hall_events) || ' ' || (SELECT count(*) FROM audit_events) "
        "|| ' ' || (SELECT md5(string_agg(h::text, ',')) FROM halls h)");
  }

  // A joined client of `a` (nullptr: anonymous), past welcome and snapshot.
  std::unique_ptr<hall_client> joined(const std::string& t, const actor* a,
                                      std::optional<std::int64_t> after = std::nullopt,
                                      tender::test::tenderd_process* node = nullptr) {
    auto c = std::make_unique<hall_client>(node ? node->port() : w.server().port(), t);
    c->hello(a ? a->token : "", after);
    auto welcome = c->next_reply();
    EXPECT_TRUE(welcome && welcome->at("type").as_string() == "welcome")
        << (welcome ? json::serialize(*welcome) : "closed");
    if (!after) {
      auto snap = c->next_reply();
      EXPECT_TRUE(snap && snap->at("type").as_string() == "snapshot");
      if (snap) last_snapshot = *snap;
    }
    return c;
  }

  // Whether `node` welcomes `a` to hall `t` (a second node is ready once its database is),
  // waiting for it up to 30 s.
  bool welcomes(tender::test::tenderd_process& node, const std::string& t, const actor& a) {
    return wait_until(
        [&] {
          try {
            hall_client probe(node.port(), t);
            probe.hello(a.token);
            auto m = probe.next(5s);
            return m && m->at("type").as_string() == "welcome";
          } catch (const std::exception&) {
            return false;
          }
        },
        30s, 200ms);
  }

  // One supervisor suspend + unsuspend: two public events.
  void suspend_cycle(hall_client& sup, const std::string& id) {
    sup.send(act(id + "s", "suspend", {{"reason", "checking the room " + id}}));
    auto a = sup.next_reply();
    ASSERT_TRUE(a && a->at("type").as_string() == "ack") << (a ? json::serialize(*a) : "closed");
    sup.send(act(id + "u", "unsuspend", {{"reason", "resumed " + id}}));
    a = sup.next_reply();
    ASSERT_TRUE(a && a->at("type").as_string() == "ack") << (a ? json::serialize(*a) : "closed");
  }

  world w;
  actor& host;
  actor& super;
  actor& owner;
  actor& b1;
  actor& b2;
  actor& outsider;
  json::object last_snapshot;
};

// Issue 15 §4: a token is not only checked at hello. After a logout the next act is refused
// with auth.invalid_token and the connection closed, changing nothing (the main node never runs
// its periodic re-check here, so only the act can find it); a revoked or expired session is
// found without any act by the periodic re-check of a second node (200 ms) and closed the same way.
TEST_F(hall_e2e, ended_sessions_end_their_connections) {
  const auto t = make_tender("f5");
  tender::test::tenderd_process node_b(
      w.db().conninfo(),
      {{"TENDERD_SCHEDULER_ENABLED", "false"}, {"TENDERD_HALL_SESSION_RECHECK_MS", "200"}});
  ASSERT_TRUE(welcomes(node_b, t, super)) << node_b.log();
  auto by_logout = joined(t, &b1);
  auto by_revocation = joined(t, &b2, std::nullopt, &node_b);
  auto by_expiry = joined(t, &host, std::nullopt, &node_b);
  auto untouched = joined(t, &super, std::nullopt, &node_b);

  // Still live: an act works.
  by_logout->send(act("c1", "challenge"));
  auto m = by_logout->next_reply();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->at("type").as_string(), "ack") << json::serialize(*m);

  b1.api->logout();
  // What the refused act could have written: hall events, the hall row, hall audit events (the
  // second node appends audit events of its own meanwhile, so not the whole log).
  const auto hall_rows = [&] {
    return w.db().query_value(
        "SELECT (SELECT count(*) FROM hall_events) || ' ' || (SELECT count(*) FROM audit_events "
        "WHERE action LIKE 'hall.%') || ' ' || (SELECT md5(string_agg(h::text, ',')) FROM halls "
        "h)");
  };
  const auto before = hall_rows();
  by_logout->send(act("c2", "challenge"));
  m = by_logout->next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "auth.invalid_token");
  EXPECT_EQ(m->at("id").as_string(), "c2");
  EXPECT_FALSE(by_logout->next_reply());
  EXPECT_TRUE(by_logout->closed());
  EXPECT_EQ(by_logout->close_reason(), "session ended");
  EXPECT_EQ(hall_rows(), before);

  // No act needed: the re-check closes connections whose session was revoked or has expired.
  EXPECT_EQ(w.admin().api->revoke_sessions(b2.user_id), 1);
  m = by_revocation->next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "auth.invalid_token");
  EXPECT_TRUE(m->at("id").is_null());
  EXPECT_FALSE(by_revocation->next_reply());
  EXPECT_EQ(by_revocation->close_reason(), "session ended");

  w.db().exec("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = '" +
              host.user_id + "'");
  m = by_expiry->next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "auth.invalid_token");
  EXPECT_FALSE(by_expiry->next_reply());
  EXPECT_TRUE(by_expiry->closed());

  // A connection whose session lives is left alone.
  untouched->send(R"({"type":"ping"})");
  m = untouched->next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("type").as_string(), "pong");
}

TEST_F(hall_e2e, hello_rules_and_refusals_change_nothing) {
  const auto t = make_tender("a1");
  hall_client c(w.server().port(), t);

  // Before hello: acts are refused, pings answered.
  c.send(act("x1", "commit_host", {{"commitment", std::string(64, 'a')}}));
  auto m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.hello_required");
  EXPECT_EQ(m->at("id").as_string(), "x1");
  c.send(R"({"type":"ping"})");
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("type").as_string(), "pong");

  // Malformed messages keep the connection.
  for (const char* bad : {"not json", "[1,2]", R"({"type":"shout"})", R"({"type":7})",
                          R"({"type":"hello","token":5})", R"({"type":"hello","extra":1})"}) {
    c.send(bad);
    m = c.next_reply();
    ASSERT_TRUE(m) << bad;
    EXPECT_EQ(code_of(*m), "hall.bad_message") << bad;
    EXPECT_TRUE(m->at("id").is_null()) << bad;
  }

  c.hello(host.token);
  m = c.next_reply();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->at("type").as_string(), "welcome") << json::serialize(*m);
  EXPECT_EQ(m->at("viewer").at("role").as_string(), "host");
  EXPECT_EQ(m->at("tender_id").as_string(), t);
  m = c.next_reply();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->at("type").as_string(), "snapshot");
  EXPECT_EQ(m->at("seq").as_int64(), head(t));
  EXPECT_EQ(m->at("hall").at("phase").as_string(), "waiting");

  c.hello(host.token);
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.already_joined");

  const auto before = rows();
  // Bad ids, unknown action, bad parameters, wrong phase, duplicate id: each refused.
  c.send(R"({"type":"act","id":"has space","action":"commit_host"})");
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.bad_message");
  EXPECT_TRUE(m->at("id").is_null());
  c.send(act(std::string(65, 'i'), "commit_host"));
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.bad_message");
  c.send(act("a1", "fly_away"));
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.bad_message");
  EXPECT_EQ(m->at("id").as_string(), "a1");
  c.send(act("a2", "commit_host", {{"commitment", 12}}));
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.bad_message");
  c.send(act("a3", "commit_host", {{"commitment", std::string(64, 'b')}, {"colour", "red"}}));
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.bad_message");
  c.send(act("a4", "publish_list"));
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.wrong_phase");
  c.send(act("a4", "commit_host", {{"commitment", std::string(64, 'b')}}));
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.duplicate_id");
  EXPECT_EQ(m->at("id").as_string(), "a4");
  EXPECT_EQ(rows(), before);

  // A bidder may not take a host step.
  auto bidder = joined(t, &b1);
  bidder->send(act("b1", "commit_host", {{"commitment", std::string(64, 'c')}}));
  m = bidder->next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.forbidden");
  EXPECT_EQ(rows(), before);

  // The host commits once: ack, and the event reaches both connections in order.
  const auto h0 = head(t);
  c.send(act("c1", "commit_host", {{"commitment", std::string(64, 'd')}}));
  m = c.next_reply();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->at("type").as_string(), "ack") << json::serialize(*m);
  EXPECT_EQ(m->at("id").as_string(), "c1");
  ASSERT_TRUE(m->at("seq").is_int64());
  const auto seq = m->at("seq").as_int64();
  EXPECT_EQ(seq, h0 + 1);
  ASSERT_TRUE(c.events_until(seq));
  ASSERT_TRUE(bidder->events_until(seq));
  EXPECT_EQ(c.events.back().at("kind").as_string(), "host_committed");
  EXPECT_EQ(bidder->events.back().at("seq").as_int64(), seq);
  expect_contiguous(bidder->events, h0);

  const auto after_commit = rows();
  c.send(act("c2", "commit_host", {{"commitment", std::string(64, 'e')}}));
  m = c.next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.already_done");
  EXPECT_EQ(rows(), after_commit);

  // The public before the list is published; a bad token; a cursor past the head.
  {
    hall_client pub(w.server().port(), t);
    pub.hello("");
    m = pub.next_reply();
    ASSERT_TRUE(m);
    EXPECT_EQ(code_of(*m), "hall.not_public_yet");
    EXPECT_FALSE(pub.next(5s));
    EXPECT_TRUE(pub.closed());
  }
  {
    hall_client bad(w.server().port(), t);
    bad.hello("not-a-token");
    m = bad.next_reply();
    ASSERT_TRUE(m);
    EXPECT_EQ(code_of(*m), "auth.invalid_token");
    EXPECT_FALSE(bad.next(5s));
    EXPECT_TRUE(bad.closed());
  }
  {
    hall_client ahead(w.server().port(), t);
    ahead.hello(host.token, head(t) + 5);
    m = ahead.next_reply();
    ASSERT_TRUE(m);
    EXPECT_EQ(code_of(*m), "hall.bad_cursor");
    EXPECT_FALSE(ahead.next(5s));
    EXPECT_TRUE(ahead.closed());
  }
  {
    hall_client nowhere(w.server().port(), "t-00000000000000ff");
    nowhere.hello(host.token);
    m = nowhere.next_reply();
    ASSERT_TRUE(m);
    EXPECT_EQ(code_of(*m), "tender.not_found");
  }
  EXPECT_EQ(rows(), after_commit);
}

TEST_F(hall_e2e, resume_with_after_gives_exactly_the_missed_events) {
  const auto t = make_tender("b1");
  auto sup = joined(t, &super);
  auto watcher = joined(t, &b1);
  const auto start = last_snapshot.at("seq").as_int64();
  suspend_cycle(*sup, "r1");
  ASSERT_TRUE(watcher->events_until(start + 2));
  expect_contiguous(watcher->events, start);
  const auto last_seen = watcher->events.back().at("seq").as_int64();
  watcher.reset();  // gone

  for (int i = 0; i < 5; ++i)
    suspend_cycle(*sup, "r2-" + std::to_string(i));
  const auto h = head(t);
  EXPECT_EQ(h, last_seen + 10);

  auto back = joined(t, &b1, last_seen);
  ASSERT_TRUE(back->events_until(h));
  expect_contiguous(back->events, last_seen);
  EXPECT_EQ(back->events.size(), 10u);
  EXPECT_EQ(back->events.front().at("kind").as_string(), "suspended");
  // Then it continues live.
  suspend_cycle(*sup, "r3");
  ASSERT_TRUE(back->events_until(h + 2));
  expect_contiguous(back->events, last_seen);

  // The HTTP pages agree with the stream.
  const auto page = b1.api->request("GET", "/api/v1/tenders/" + t + "/hall/events?after=" +
                                               std::to_string(last_seen) + "&limit=3");
  ASSERT_EQ(page.status, 200u) << page.body;
  const auto pv = json::parse(page.body).as_object();
  ASSERT_EQ(pv.at("events").as_array().size(), 3u);
  EXPECT_EQ(pv.at("events").as_array()[0].at("seq").as_int64(), last_seen + 1);
  EXPECT_EQ(pv.at("head").as_int64(), h + 2);
  const auto beyond = b1.api->request(
      "GET", "/api/v1/tenders/" + t + "/hall/events?after=" + std::to_string(h + 100));
  EXPECT_EQ(error_code_of(beyond), "hall.bad_cursor");
}

TEST_F(hall_e2e, staff_events_are_redacted_for_bidders_and_the_public_reads_only_after_the_list) {
  const auto t = make_tender("c1");
  auto hostc = joined(t, &host);
  auto bidder = joined(t, &b1);
  const auto start = last_snapshot.at("seq").as_int64();
  // The deadline seals the hall (scheduler).
  w.db().exec(
      "UPDATE tenders SET deadline_at = clock_timestamp() - interval '1 millisecond' "
      "WHERE id = '" +
      t + "'");
  w.db().exec("UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE subject = '" + t + "'");
  ASSERT_TRUE(wait_until(
      [&] {
        return w.db().query_value("SELECT phase FROM halls WHERE tender_id = '" + t + "'") ==
               "sealed";
      },
      15s))
      << w.server().log();
  hostc->send(act("g1", "check_guarantees"));
  auto m = hostc->next_reply();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->at("type").as_string(), "ack") << json::serialize(*m);
  const auto checked = m->at("seq").as_int64();
  ASSERT_TRUE(bidder->events_until(checked));
  expect_contiguous(bidder->events, start);
  ASSERT_TRUE(hostc->events_until(checked));
  // The staff-only result is a placeholder for the bidder, whole for the host.
  EXPECT_EQ(bidder->events.back().at("kind").as_string(), "redacted");
  EXPECT_FALSE(bidder->events.back().contains("data"));
  EXPECT_EQ(hostc->events.back().at("kind").as_string(), "guarantees_checked");

  // Still not public while sealed.
  {
    hall_client pub(w.server().port(), t);
    pub.hello("");
    m = pub.next_reply();
    ASSERT_TRUE(m);
    EXPECT_EQ(code_of(*m), "hall.not_public_yet");
  }
  EXPECT_EQ(error_code_of(w.anonymous()->request("GET", "/api/v1/tenders/" + t + "/hall")),
            "hall.not_public_yet");

  hostc->send(act("p1", "publish_list"));
  m = hostc->next_reply();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->at("type").as_string(), "ack") << json::serialize(*m);
  const auto listed = m->at("seq").as_int64();

  // Now the public (and an unrelated bidder) may watch, read-only; they never saw the staff event.
  auto pub = joined(t, nullptr, start);
  ASSERT_TRUE(pub->events_until(listed));
  expect_contiguous(pub->events, start);
  for (const auto& e : pub->events) {
    EXPECT_NE(e.at("kind").as_string(), "guarantees_checked");
  }
  pub->send(act("p1", "object", {{"text", "I object"}}));
  m = pub->next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.forbidden");
  auto other = joined(t, &outsider);
  other->send(act("o1", "challenge"));
  m = other->next_reply();
  ASSERT_TRUE(m);
  EXPECT_EQ(code_of(*m), "hall.forbidden");
  const auto snap = w.anonymous()->request("GET", "/api/v1/tenders/" + t + "/hall");
  ASSERT_EQ(snap.status, 200u) << snap.body;
  EXPECT_EQ(json::parse(snap.body).at("hall").at("phase").as_string(), "listed");
}

// A hall nobody on this node watches is released after hall.hub_idle_ms (1 s here); the next
// viewer gets a new hub that starts where the hall is, live events included.
TEST_F(hall_e2e, an_idle_hub_is_released_and_the_next_viewer_gets_a_new_one) {
  const auto t = make_tender("e9");
  const auto released = [&] {
    std::size_t n = 0;
    const auto log = w.server().log();
    for (auto at = log.find("hall hub released"); at != std::string::npos;
         at = log.find("hall hub released", at + 1)) {
      const auto eol = log.find('\n', at);
      if (log.substr(at, eol == std::string::npos ? std::string::npos : eol - at).find(t) !=
          std::string::npos)
        ++n;
    }
    return n;
  };
  { auto first = joined(t, &host); }  // joins, then closes
  ASSERT_TRUE(wait_until([&] { return released() == 1; }, 30s)) << tail(w.server().log());

  auto again = joined(t, &host);
  const auto start = last_snapshot.at("seq").as_int64();
  again->send(act("i1", "commit_host", {{"commitment", std::string(64, 'c')}}));
  const auto m = again->next_reply();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->at("type").as_string(), "ack") << json::serialize(*m);
  ASSERT_TRUE(again->events_until(start + 1, 15s)) << tail(w.server().log());
  expect_contiguous(again->events, start);
  EXPECT_EQ(again->events.back().at("kind").as_string(), "host_committed");
  // While someone watches, the hub stays.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(released(), 1U);
}

TEST_F(hall_e2e, a_slow_consumer_is_dropped_and_resumes_exactly) {
  const auto t = make_tender("d1");
  auto slow = joined(t, &b1);
  const auto start = last_snapshot.at("seq").as_int64();
  // A burst of large events (rows written directly: a long opening's history in one go), then
  // the notification the writers send. The slow client reads nothing meanwhile.
  const int burst = 30000;
  w.db().exec(
      "INSERT INTO hall_events (tender_id, seq, kind, actor, data, audience) SELECT '" + t + "', " +
      std::to_string(start) +
      " + g, CASE WHEN g % 2 = 1 THEN 'suspended' ELSE "
      "'unsuspended' END, NULL, jsonb_build_object('reason', repeat('x', 600) || g), CASE WHEN g "
      "% 7 = 0 THEN 'staff' ELSE 'all' END FROM generate_series(1, " +
      std::to_string(burst) + ") g");
  w.db().exec("UPDATE halls SET last_seq = " + std::to_string(start + burst) +
              " WHERE tender_id = '" + t + "'");
  w.db().exec("NOTIFY tenderhall_hall, '" + t + " " + std::to_string(start + burst) + "'");
  // Its queue overflows on the server: it is disconnected.
  ASSERT_TRUE(wait_until(
      [&] { return w.server().log().find("too slow, disconnected") != std::string::npos; }, 30s))
      << "the slow client was not dropped";
  // What it did receive is a gap-free prefix; then the connection ends.
  while (auto m = slow->next(10s)) {
    if (m->at("type").as_string() == "event") slow->events.push_back(*m);
  }
  EXPECT_TRUE(slow->closed());
  EXPECT_EQ(slow->close_code(), 1008);  // policy violation (hall-protocol.md §1)
  EXPECT_EQ(slow->close_reason(), "slow consumer");
  expect_contiguous(slow->events, start);
  const auto last = slow->events.empty() ? start : slow->events.back().at("seq").as_int64();
  EXPECT_LT(last, start + burst);

  // The resume from its last seq gets exactly the rest, redacted where it must be.
  auto back = joined(t, &b1, last);
  ASSERT_TRUE(back->events_until(start + burst, 60s))
      << "got " << back->events.size() << " events, closed " << back->closed() << "\n"
      << tail(w.server().log());
  expect_contiguous(back->events, last);
  EXPECT_EQ(back->events.back().at("seq").as_int64(), start + burst);
  for (const auto& e : back->events) {
    const auto g = e.at("seq").as_int64() - start;
    if (g % 7 == 0) {
      EXPECT_EQ(e.at("kind").as_string(), "redacted");
    } else {
      EXPECT_NE(e.at("kind").as_string(), "redacted");
    }
  }
}

TEST_F(hall_e2e, an_action_on_one_node_reaches_a_watcher_on_another) {
  const auto t = make_tender("e1");
  tender::test::tenderd_process node_b(w.db().conninfo(), {{"TENDERD_SCHEDULER_ENABLED", "false"}});
  ASSERT_TRUE(welcomes(node_b, t, b2)) << node_b.log();
  auto on_b = joined(t, &b2, std::nullopt, &node_b);
  const auto start = last_snapshot.at("seq").as_int64();
  auto on_a = joined(t, &super);
  suspend_cycle(*on_a, "n1");
  ASSERT_TRUE(on_b->events_until(start + 2)) << node_b.log();
  expect_contiguous(on_b->events, start);
  EXPECT_EQ(on_b->events.front().at("kind").as_string(), "suspended");
  EXPECT_EQ(on_b->events.back().at("kind").as_string(), "unsuspended");
}

}  // namespace
