#include "hall_service.hpp"

#include <tender/core/log.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/db/database.hpp>
#include <tender/db/error.hpp>
#include <tender/db/hall_listener.hpp>
#include <tender/storage/blob_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

namespace tender::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using strand_t = asio::strand<asio::any_io_executor>;

asio::awaitable<void> sleep_on(asio::steady_timer& t, std::chrono::milliseconds d) {
  t.expires_after(d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Kinds about one bidder organisation (data.org_id): in the summary view (hall-protocol.md §4.1)
// only that organisation gets them; everyone else gets them as a skipped range.
bool per_bidder_kind(const std::string& kind) {
  return kind == "signed_in" || kind == "decryption_status" || kind == "confirmed" ||
         kind == "backup_uploaded" || kind == "share_submitted" || kind == "help_requested";
}

// Kinds whose long lists the summary view cuts to the viewer's own rows.
bool trimmed_kind(const std::string& kind) {
  return kind == "list_published" || kind == "announced" || kind == "confirmation_closed";
}

// The organisation an element of a cut list belongs to: its `org_id`, or the element itself when
// it is a string (confirmation_closed's lists may be either).
std::string org_of_element(const json::value& x) {
  if (x.is_string()) return std::string(x.get_string());
  if (const auto* o = x.is_object() ? x.get_object().if_contains("org_id") : nullptr;
      o != nullptr && o->is_string())
    return std::string(o->get_string());
  return {};
}

// A trimmed kind's data parsed once for every viewer (a list_published of 10,000 bidders is a
// megabyte or more): `base` is the data with each cut list emptied and its `<list>_total` set, and
// each list's elements are grouped by organisation, so a viewer's rendering copies only the small
// base and its own rows.
struct cut_template {
  struct list {
    std::optional<std::size_t> lot;  // index in data.lots, or none: a top-level list
    std::string name;
    std::unordered_map<std::string, json::array> by_org;
  };
  json::object base;
  std::vector<list> lists;
};

std::optional<cut_template> make_cut_template(const db::hall_event& e) {
  boost::system::error_code ec;
  auto data = json::parse(e.data_json, ec);
  if (ec || !data.is_object()) return std::nullopt;
  cut_template t;
  auto take = [&](json::object& holder, const std::string& name, std::optional<std::size_t> lot) {
    auto* l = holder.if_contains(name);
    if (l == nullptr || !l->is_array()) return;
    cut_template::list entry{lot, name, {}};
    const auto total = l->get_array().size();
    for (auto& x : l->get_array())
      entry.by_org[org_of_element(x)].push_back(std::move(x));
    *l = json::array{};
    holder[name + "_total"] = total;
    t.lists.push_back(std::move(entry));
  };
  auto& d = data.get_object();
  if (e.kind == "confirmation_closed") {
    take(d, "confirmed", std::nullopt);
    take(d, "silent", std::nullopt);
  } else if (auto* lots = d.if_contains("lots"); lots != nullptr && lots->is_array()) {
    const std::string name = e.kind == "announced" ? "rows" : "bidders";
    auto& a = lots->get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].is_object()) take(a[i].get_object(), name, i);
    }
  }
  t.base = std::move(d);
  return t;
}

// One recent event and its renderings, made on first need and shared by every subscriber:
// hall_event_message depends on the viewer only through whether the event is visible to it; the
// summary view's cut lists depend on the viewer's organisation.
struct cached_event {
  explicit cached_event(db::hall_event e) : event(std::move(e)) {
    if (per_bidder_kind(event.kind)) {
      boost::system::error_code ec;
      const auto d = json::parse(event.data_json, ec);
      if (!ec && d.is_object()) {
        if (const auto* o = d.get_object().if_contains("org_id"); o != nullptr && o->is_string())
          subject_org = std::string(o->get_string());
      }
    }
  }
  db::hall_event event;
  std::string subject_org;  // for per-bidder kinds
  std::optional<std::string> shown;
  std::optional<std::string> counted;  // kind and time only (the host's view of an "own:" event)
  std::optional<std::string> redacted;
  std::map<std::string, std::string> cut;  // summary renderings of trimmed kinds, by org
  std::optional<std::optional<cut_template>> cut_base;  // made on the first cut rendering
};

const std::string& rendering(cached_event& c, const db::hall_viewer& v) {
  auto& slot = c.event.visible_to(v) ? c.shown : c.event.counted_by(v) ? c.counted : c.redacted;
  if (!slot) slot = db::hall_event_message(c.event, v);
  return *slot;
}

// Keeps, in an array of objects, the ones whose `key` is `org`; returns how many there were.
std::size_t keep_own(json::value& v, std::string_view key, const std::string& org) {
  if (!v.is_array()) return 0;
  auto& a = v.get_array();
  const auto total = a.size();
  json::array kept;
  for (auto& x : a) {
    if (x.is_object()) {
      const auto* o = x.get_object().if_contains(key);
      if (o != nullptr && o->is_string() && o->get_string() == org) kept.push_back(x);
    } else if (x.is_string() && x.get_string() == org) {
      kept.push_back(x);
    }
  }
  a = std::move(kept);
  return total;
}

// The summary rendering of a trimmed kind: the lists cut to the viewer's organisation, with their
// full lengths beside them (`<list>_total`).
const std::string& cut_rendering(cached_event& c, const db::hall_viewer& v) {
  auto it = c.cut.find(v.org_id);
  if (it != c.cut.end()) return it->second;
  if (!c.cut_base) c.cut_base = make_cut_template(c.event);
  if (!*c.cut_base) return rendering(c, v);
  const auto& t = **c.cut_base;
  json::object d = t.base;
  for (const auto& l : t.lists) {
    const auto own = l.by_org.find(v.org_id);
    if (own == l.by_org.end()) continue;
    auto& holder = l.lot ? d["lots"].get_array()[*l.lot].get_object() : d;
    holder[l.name] = own->second;
  }
  db::hall_event e = c.event;
  e.data_json = json::serialize(d);
  return c.cut.emplace(v.org_id, db::hall_event_message(e, v)).first->second;
}

struct subscriber {
  subscriber(strand_t& s, std::shared_ptr<net::ws_connection> c, db::hall_viewer v,
             std::int64_t after, bool summary_view)
      : conn(std::move(c)),
        viewer(std::move(v)),
        summary(summary_view && !viewer.is_staff()),
        cursor(after),
        timer(s) {}
  std::shared_ptr<net::ws_connection> conn;
  db::hall_viewer viewer;
  bool summary;                // the summary view (§4.1); never for staff
  std::int64_t skip_from = 0;  // a skipped range not sent yet (0: none)
  std::int64_t skip_to = 0;
  std::int64_t cursor;  // the last seq this connection was sent (or had in its snapshot)
  bool live = false;    // caught up: the hub pushes to it directly
  bool closed = false;
  std::optional<std::chrono::steady_clock::time_point> stalled_since;
  asio::steady_timer timer;
};

// One hall on this node. Everything it does runs on its strand.
struct hub : std::enable_shared_from_this<hub> {
  hub(asio::any_io_executor io, std::string t)
      : tender_id(std::move(t)), strand(asio::make_strand(io)), timer(strand) {}

  void wake() {
    asio::post(strand, [self = shared_from_this()] {
      self->pending = true;
      self->timer.cancel();
    });
  }

  std::int64_t first_in_ring() const { return ring.empty() ? head + 1 : ring.front()->event.seq; }

  std::string tender_id;
  strand_t strand;
  asio::steady_timer timer;
  std::deque<std::shared_ptr<cached_event>> ring;  // contiguous seqs ending at head
  std::int64_t head = 0;
  bool ready = false;        // head read from the database
  bool progress_due = true;  // a per-bidder event since the last progress message
  bool pending = true;
  bool stopped = false;
  std::map<std::uint64_t, std::shared_ptr<subscriber>> subs;
  // The same subscribers indexed for push(): an event about one bidder organisation goes to the
  // full-view subscribers and to that organisation's summary subscribers only, so a hall of N
  // bidders costs O(own + full) per such event instead of O(N) (the summary view's other
  // subscribers get it later as part of a skipped range).
  std::map<std::uint64_t, std::shared_ptr<subscriber>> full_subs;
  std::unordered_map<std::string, std::vector<std::shared_ptr<subscriber>>> summary_by_org;

  void add(const std::shared_ptr<subscriber>& s, std::uint64_t id) {
    subs[id] = s;
    if (s->summary)
      summary_by_org[s->viewer.org_id].push_back(s);
    else
      full_subs[id] = s;
  }
  void remove(std::uint64_t id) {
    const auto it = subs.find(id);
    if (it == subs.end()) return;
    const auto s = it->second;
    s->closed = true;
    s->timer.cancel();
    subs.erase(it);
    full_subs.erase(id);
    if (const auto o = summary_by_org.find(s->viewer.org_id); o != summary_by_org.end()) {
      std::erase(o->second, s);
      if (o->second.empty()) summary_by_org.erase(o);
    }
  }
  std::size_t refs = 0;  // connections mapped to this hub (by_connection), under impl::mutex
  std::optional<std::chrono::steady_clock::time_point> idle_since;  // no subscriber since
};

}  // namespace

struct hall_service::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor io_, db::database& database_, db::hall& hall_, options o)
      : io(std::move(io_)),
        database(database_),
        hall(hall_),
        opts(std::move(o)),
        blobs(storage::make_file_blob_store(opts.data_dir)),
        workers(std::max(1u, opts.decrypt_threads)),
        strand(asio::make_strand(io)),
        heartbeat_timer(strand),
        recovery_timer(strand),
        listener({opts.conninfo, opts.retry_interval, std::chrono::milliseconds(500)},
                 [this](std::optional<db::hall_notification> n) { notified(n); }) {}

  void notified(const std::optional<db::hall_notification>& n) {
    std::lock_guard lock(mutex);
    if (n) {
      const auto it = hubs.find(n->tender_id);
      if (it != hubs.end()) it->second->wake();
      return;
    }
    for (auto& [id, h] : hubs)
      h->wake();
  }

  // ---- hubs -------------------------------------------------------------------------------

  void push(const std::shared_ptr<hub>& hp, db::hall_event e) {
    hub& h = *hp;
    if (e.seq <= h.head) return;  // already have it
    if (e.seq != h.head + 1) {
      // Cannot happen (seqs are assigned under the hall's row lock); keep the ring contiguous.
      core::log::warn("hall events not contiguous",
                      {{"tender_id", h.tender_id}, {"head", h.head}, {"seq", e.seq}});
      h.ring.clear();
    }
    auto c = std::make_shared<cached_event>(std::move(e));
    if (per_bidder_kind(c->event.kind) || c->event.kind == "list_published") h.progress_due = true;
    h.head = c->event.seq;
    h.ring.push_back(c);
    while (h.ring.size() > opts.ring_size)
      h.ring.pop_front();
    auto offer = [&](const std::shared_ptr<subscriber>& s) {
      if (!s->live || s->closed || c->event.seq <= s->cursor) return;
      if (behind(*s->conn)) {
        // Behind: back to the paced catch-up (from the ring) instead of a burst into its queue.
        s->live = false;
        asio::co_spawn(h.strand, catch_up(shared_from_this(), hp, s), asio::detached);
        return;
      }
      deliver(*s, *c);
    };
    // Which summary subscribers can get this event at all: the subject organisation's for a
    // per-bidder kind or an organisation's audience, none for staff or supervisors' events, all
    // otherwise. The others are left alone; their cursor stays behind and the gap goes out as a
    // skip.
    const auto& audience = c->event.audience;
    std::optional<std::string> only_org;
    if (!c->subject_org.empty())
      only_org = c->subject_org;
    else
      only_org = c->event.audience_org();
    if (only_org || audience == "staff" || audience == "supervisors") {
      for (auto& [id, s] : h.full_subs)
        offer(s);
      if (only_org) {
        if (const auto it = h.summary_by_org.find(*only_org); it != h.summary_by_org.end()) {
          for (auto& s : it->second)
            offer(s);
        }
      }
    } else {
      for (auto& [id, s] : h.subs)
        offer(s);
    }
  }

  // The connection has half its queue limit (messages or bytes) waiting: pushes to it pause.
  bool behind(const net::ws_connection& c) const {
    return c.queued() >= opts.queue_high_water || c.queued_bytes() >= opts.queue_high_water_bytes;
  }

  // Sends `c` to `s` as its view shows it; in the summary view what is not for it joins the
  // pending skipped range, sent before its next event or by the hub's tick.
  static void deliver(subscriber& s, cached_event& c) {
    const auto& e = c.event;
    if (s.summary) {
      // A live summary subscriber is not offered what is not for it (push): what lies between its
      // cursor and this event joins its skipped range.
      if (e.seq > s.cursor + 1) skip_to(s, e.seq - 1);
      if (!e.visible_to(s.viewer) || (!c.subject_org.empty() && c.subject_org != s.viewer.org_id)) {
        skip_to(s, e.seq);
        return;
      }
      flush_skip(s);
      s.conn->send(trimmed_kind(e.kind) ? cut_rendering(c, s.viewer) : rendering(c, s.viewer));
    } else {
      s.conn->send(rendering(c, s.viewer));
    }
    s.cursor = e.seq;
  }

  // Adds (cursor, seq] to the pending skipped range and moves the cursor to seq.
  static void skip_to(subscriber& s, std::int64_t seq) {
    if (seq <= s.cursor) return;
    if (s.skip_from == 0) s.skip_from = s.cursor + 1;
    s.skip_to = seq;
    s.cursor = seq;
  }

  // The pending skipped range as `"from":a,"to":b`, cleared; empty when none is pending. It goes
  // out alone (flush_skip) or inside a progress message (tick).
  static std::string take_skip(subscriber& s) {
    if (s.skip_from == 0) return {};
    auto range =
        R"("from":)" + std::to_string(s.skip_from) + R"(,"to":)" + std::to_string(s.skip_to);
    s.skip_from = 0;
    s.skip_to = 0;
    return range;
  }

  static void flush_skip(subscriber& s) {
    if (const auto range = take_skip(s); !range.empty())
      s.conn->send(R"({"type":"skip",)" + range + "}");
  }

  // Every tick: pending skipped ranges go out; about once a second, when a per-bidder event came,
  // the summary viewers get the hall's counts, each with its pending skip inside (one message
  // instead of two: in a hall of 10,000 bidders these two were most of the messages sent).
  asio::awaitable<void> tick(std::shared_ptr<impl> self, std::shared_ptr<hub> h) {
    (void)self;
    asio::steady_timer t(h->strand);
    auto last_progress = std::chrono::steady_clock::now();
    while (!h->stopped) {
      co_await sleep_on(t, opts.summary_tick);
      if (h->stopped) break;
      if (release_if_idle(*h)) break;
      if (h->summary_by_org.empty()) continue;
      std::optional<std::string> counts;
      const auto now = std::chrono::steady_clock::now();
      if (h->progress_due &&
          now - last_progress + opts.summary_tick / 2 >= opts.progress_interval) {
        h->progress_due = false;
        last_progress = now;
        try {
          const auto tid = h->tender_id;
          counts = co_await hall.progress(tid);
        } catch (const std::exception& e) {
          core::log::debug("hall progress read failed",
                           {{"tender_id", h->tender_id}, {"error", e.what()}});
          h->progress_due = true;
        }
        if (h->stopped) break;
      }
      // After the read: what was pushed meanwhile has gone out (with the skips before it).
      for (auto& [org, list] : h->summary_by_org) {
        for (auto& s : list) {
          if (s->closed) continue;
          // A live subscriber has been offered everything up to the head that was for it.
          if (s->live) skip_to(*s, h->head);
          if (!counts) {
            flush_skip(*s);
            continue;
          }
          std::string msg = R"({"type":"progress","hall":)" + *counts;
          if (const auto range = take_skip(*s); !range.empty()) msg += R"(,"skip":{)" + range + "}";
          msg += '}';
          s->conn->send(std::move(msg));
        }
      }
    }
  }

  // On the hub's strand: a hub with no subscriber for hub_idle and no connection about to join is
  // removed and stopped (a later connection makes a new one). True when it was.
  bool release_if_idle(hub& h) {
    if (!h.subs.empty()) {
      h.idle_since.reset();
      return false;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!h.idle_since) h.idle_since = now;
    if (now - *h.idle_since < opts.hub_idle) return false;
    {
      std::lock_guard lock(mutex);
      if (h.refs != 0) return false;  // a subscribe is on its way to this strand
      const auto it = hubs.find(h.tender_id);
      if (it != hubs.end() && it->second.get() == &h) hubs.erase(it);
    }
    h.stopped = true;
    h.timer.cancel();
    core::log::info("hall hub released", {{"tender_id", h.tender_id}});
    return true;
  }

  asio::awaitable<void> run_hub(std::shared_ptr<impl> self, std::shared_ptr<hub> h) {
    (void)self;
    while (!h->stopped) {
      if (!h->pending) {
        co_await sleep_on(h->timer, opts.safety_poll);
        if (h->stopped) break;
      }
      h->pending = false;
      bool failed = false;
      try {
        if (!h->ready) {
          const auto tid = h->tender_id;
          h->head = co_await hall.head(tid);
          h->ready = true;
          for (auto& [id, s] : h->subs)
            s->timer.cancel();
        }
        for (;;) {
          const auto tid = h->tender_id;
          const auto after = h->head;
          auto page = co_await hall.events(tid, after, opts.page_size);
          const auto n = page.size();
          for (auto& e : page)
            push(h, std::move(e));
          if (n < opts.page_size || h->stopped) break;
        }
      } catch (const std::exception& e) {
        core::log::debug("hall hub read failed; retrying",
                         {{"tender_id", h->tender_id}, {"error", e.what()}});
        failed = true;
      }
      if (failed) {
        h->pending = true;
        if (!h->stopped) co_await sleep_on(h->timer, opts.retry_interval);
      }
    }
  }

  // Waits while the connection has queue_high_water messages queued. A connection that stays
  // there for slow_timeout is not waited for any more: what is sent next fills its queue and the
  // connection drops it as a slow consumer (it resumes with `after`).
  asio::awaitable<void> paced(subscriber& s) {
    while (!s.closed && behind(*s.conn)) {
      const auto now = std::chrono::steady_clock::now();
      if (!s.stalled_since) {
        s.stalled_since = now;
      } else if (now - *s.stalled_since > opts.slow_timeout) {
        co_return;
      }
      co_await sleep_on(s.timer, std::chrono::milliseconds(20));
    }
    s.stalled_since.reset();
  }

  // Sends `s` everything between its cursor and the hub's head, then marks it live.
  asio::awaitable<void> catch_up(std::shared_ptr<impl> self, std::shared_ptr<hub> h,
                                 std::shared_ptr<subscriber> s) {
    (void)self;
    const std::chrono::milliseconds pace{20};
    while (!s->closed && !h->stopped) {
      if (!h->ready) {
        co_await sleep_on(s->timer, pace);
        continue;
      }
      if (s->cursor >= h->head) {
        s->live = true;
        if (s->cursor > h->head) h->wake();  // its snapshot is newer than what the hub has read
        co_return;
      }
      co_await paced(*s);
      if (s->closed || h->stopped) break;
      const std::int64_t next = s->cursor + 1;
      const std::int64_t first = h->first_in_ring();
      if (next >= first) {
        deliver(*s, *h->ring[static_cast<std::size_t>(next - first)]);
        continue;
      }
      // Older than the ring: page from the database, up to the ring's start.
      const auto limit =
          static_cast<std::size_t>(std::min<std::int64_t>(opts.page_size, first - next));
      std::vector<db::hall_event> page;
      try {
        const auto tid = h->tender_id;
        const auto after = s->cursor;
        page = co_await hall.events(tid, after, limit);
      } catch (const std::exception& e) {
        core::log::debug("hall catch-up read failed; retrying",
                         {{"tender_id", h->tender_id}, {"error", e.what()}});
      }
      if (page.empty()) {
        co_await sleep_on(s->timer, opts.retry_interval);
        continue;
      }
      for (const auto& e : page) {
        co_await paced(*s);
        if (s->closed) break;
        if (e.seq != s->cursor + 1) break;  // re-read from the cursor
        cached_event c(e);
        deliver(*s, c);
      }
    }
  }

  std::shared_ptr<hub> hub_for(const std::string& tender_id) {
    // Called with `mutex` held.
    auto it = hubs.find(tender_id);
    if (it != hubs.end()) return it->second;
    auto h = std::make_shared<hub>(io, tender_id);
    hubs.emplace(tender_id, h);
    asio::co_spawn(h->strand, run_hub(shared_from_this(), h), asio::detached);
    asio::co_spawn(h->strand, tick(shared_from_this(), h), asio::detached);
    return h;
  }

  // ---- decryption -------------------------------------------------------------------------

  void submit(db::hall_work w) {
    {
      std::lock_guard lock(mutex);
      if (stopped || !running.insert(w.attempt_id).second) return;
    }
    asio::post(workers, [self = shared_from_this(), w = std::move(w)] {
      db::hall_work_outcome outcome;
      try {
        outcome = run_work(w, *self->blobs);
      } catch (const std::exception& e) {
        // The platform could not run it (a disk error, the store unreadable, a fault of the
        // worker): the attempt ends on the platform's side with what went wrong as its
        // evidence, so the window's close never waits for it.
        core::log::error(
            "hall decryption could not run",
            {{"attempt_id", w.attempt_id}, {"tender_id", w.tender_id}, {"error", e.what()}});
        outcome = {};
        outcome.cause = db::cause_decryption_incomplete;
        outcome.message = std::string("the platform could not run the decryption: ") + e.what();
      }
      self->report(w.attempt_id, std::move(outcome));
    });
  }

  // Outcomes are reported in batches by one reporter: while one batch is written the next ones
  // gather, so a hall whose bids all open at once takes one transaction (one lock of its row)
  // per batch instead of one per bid.
  void report(std::int64_t attempt_id, db::hall_work_outcome outcome) {
    std::lock_guard lock(mutex);
    reports.emplace_back(attempt_id, std::move(outcome));
    if (reporting) return;
    reporting = true;
    asio::co_spawn(strand, drain_reports(shared_from_this()), asio::detached);
  }

  asio::awaitable<void> drain_reports(std::shared_ptr<impl> self) {
    (void)self;
    asio::steady_timer t(strand);
    for (;;) {
      std::vector<std::pair<std::int64_t, db::hall_work_outcome>> batch;
      {
        std::lock_guard lock(mutex);
        while (!reports.empty() && batch.size() < report_batch) {
          batch.push_back(std::move(reports.front()));
          reports.pop_front();
        }
        if (batch.empty()) {
          reporting = false;
          co_return;
        }
      }
      co_await write_outcomes(batch, t);
      std::lock_guard lock(mutex);
      for (const auto& [id, o] : batch)
        running.erase(id);
    }
  }

  // Writes a batch, retrying while the database is away; an outcome the hall refuses (not a
  // database failure) is logged and dropped, after the batch is retried one outcome at a time.
  asio::awaitable<void> write_outcomes(
      const std::vector<std::pair<std::int64_t, db::hall_work_outcome>>& batch,
      asio::steady_timer& t) {
    for (int tries = 0; tries < 30 && !stopped; ++tries) {
      std::optional<db::error> refused;
      try {
        co_await hall.finish_decryptions(batch);
        co_return;
      } catch (const db::error& e) {
        if (!e.code().starts_with("db.")) refused = e;
      }
      if (refused) {
        if (batch.size() > 1) {
          for (const auto& one : batch) {
            const std::vector<std::pair<std::int64_t, db::hall_work_outcome>> single{one};
            co_await write_outcomes(single, t);
          }
        } else {
          core::log::warn("hall decryption outcome refused", {{"attempt_id", batch.front().first},
                                                              {"code", refused->code()},
                                                              {"error", refused->what()}});
        }
        co_return;
      }
      co_await sleep_on(t, opts.retry_interval);
    }
  }

  // Attempts left 'decrypting' by a crash or a stop: run them again once the database is ready.
  asio::awaitable<void> recover(std::shared_ptr<impl> self) {
    (void)self;
    while (!stopped) {
      if (database.readiness().ready) {
        try {
          auto work = co_await hall.pending_work();
          if (!work.empty()) {
            core::log::info("hall: resuming pending decryptions",
                            {{"count", static_cast<std::int64_t>(work.size())}});
          }
          for (auto& w : work)
            submit(std::move(w));
          co_return;
        } catch (const std::exception& e) {
          core::log::debug("hall: pending work not read yet", {{"error", e.what()}});
        }
      }
      co_await sleep_on(recovery_timer, opts.retry_interval);
    }
  }

  asio::awaitable<void> heartbeats(std::shared_ptr<impl> self) {
    (void)self;
    while (!stopped) {
      co_await sleep_on(heartbeat_timer, opts.heartbeat);
      if (stopped) break;
      if (!database.readiness().ready) continue;
      try {
        const auto node = opts.node_id;
        const auto halls = co_await hall.heartbeat(node);
        for (const auto& t : halls)
          core::log::warn("hall: outage recorded", {{"tender_id", t}});
      } catch (const std::exception& e) {
        core::log::debug("hall heartbeat failed", {{"error", e.what()}});
      }
    }
  }

  asio::any_io_executor io;
  db::database& database;
  db::hall& hall;
  options opts;
  std::unique_ptr<storage::blob_store> blobs;
  asio::thread_pool workers;
  strand_t strand;  // heartbeat, recovery, reports
  asio::steady_timer heartbeat_timer;
  asio::steady_timer recovery_timer;
  db::hall_listener listener;

  std::mutex mutex;
  std::map<std::string, std::shared_ptr<hub>> hubs;
  std::map<std::uint64_t, std::shared_ptr<hub>> by_connection;
  std::set<std::int64_t> running;  // attempt ids on the workers or being reported
  std::deque<std::pair<std::int64_t, db::hall_work_outcome>> reports;  // waiting to be written
  bool reporting = false;                                              // drain_reports runs
  static constexpr std::size_t report_batch = 64;
  std::atomic<bool> stopped{false};
};

namespace {

// A stored file that cannot be read, or no longer has the bytes it was stored with, is the
// platform's fault: the bid is withdrawn, never revoked (hall-protocol.md §10).
db::hall_work_outcome file_unavailable(std::string message) {
  db::hall_work_outcome out;
  out.cause = db::cause_file_unavailable;
  out.message = std::move(message);
  return out;
}

// After a file failed to open: the bidder's bad file, or the platform's damaged copy of it. The
// store names each blob by the SHA-256 of the bytes it accepted, so reading it again tells which.
db::hall_work_outcome blame(const storage::blob_store& blobs, const std::string& digest,
                            const char* what, db::hall_work_outcome bidders_fault) {
  const auto now = blobs.digest_of(digest);
  if (!now) {
    return file_unavailable(std::string(what) + " (sha256 " + digest +
                            ") disappeared from the platform's store during the decryption");
  }
  if (*now != digest) {
    return file_unavailable(std::string(what) + " is damaged in the platform's store: it was " +
                            "stored with sha256 " + digest + " and reads now as sha256 " + *now);
  }
  return bidders_fault;
}

}  // namespace

db::hall_work_outcome hall_service::run_work(const db::hall_work& w,
                                             const storage::blob_store& blobs) {
  namespace sealed = crypto::sealed;
  db::hall_work_outcome out;
  const char* what = w.source == "backup" ? "the backup file" : "the sealed bid file";
  auto missing = [&] {
    return file_unavailable(std::string(what) + " (sha256 " + w.blob_digest +
                            ") is missing from the platform's store");
  };
  sealed::header h;
  try {
    if (w.source == "backup") {
      // A backup file (备用文件) has its own file key, so its own header: read it from the file.
      auto file = blobs.open(w.blob_digest);
      if (!file) return missing();
      h = sealed::inspect(*file).hdr;
    } else {
      h = sealed::parse_header(crypto::as_bytes(w.header));
    }
  } catch (const crypto::error& e) {
    out.cause = "bad_file";
    out.message = std::string("the sealed header cannot be read: ") + e.what();
    return w.source == "backup" ? blame(blobs, w.blob_digest, what, out) : out;
  }
  const auto material = crypto::as_bytes(w.key_material);
  const bool both = w.policy == "bidder-and-escrow";
  crypto::secure_bytes key;
  try {
    if (w.source == "escrow") {
      if (!w.escrow_secret) throw std::invalid_argument("escrow work without the escrow secret");
      std::optional<crypto::byte_view> part;
      if (both) part = material;
      key = sealed::file_key_from_escrow(h, crypto::as_bytes(*w.escrow_secret), part);
    } else if (both) {
      // The bidder's part is checked by the rehearsal key it derives.
      (void)sealed::derive_rehearsal_key(h, material);
      if (!w.escrow_secret) {
        out.cause = "escrow_incomplete";
        out.message = "the bidder's part is right; the custodians' shares are still needed";
        return out;
      }
      key = sealed::file_key_from_escrow(h, crypto::as_bytes(*w.escrow_secret), material);
    } else {
      sealed::check_file_key(h, material);
      key = crypto::secure_bytes(material);
    }
  } catch (const crypto::error& e) {
    out.cause = "wrong_key";
    out.message = std::string("the key does not open this file [") + e.code() + "]";
    return out;
  }
  auto in = blobs.open(w.blob_digest);
  if (!in) return missing();
  try {
    // Every chunk authenticated, the trailer and signature checked and the commitment recomputed
    // from the plaintext; the summary comes with it.
    const auto r = sealed::verify_body(*in, key.view());
    const auto commitment = crypto::hex_encode(r.verified.commitment);
    if (!w.commitment_hex.empty() && commitment != w.commitment_hex) {
      out.cause = "bad_file";
      out.message = "the opened file's commitment is not the sealed bid's";
      return out;
    }
    out.ok = true;
    out.summary_json = r.summary.json;
    out.message = "opened and verified";
  } catch (const crypto::error& e) {
    out.cause = "bad_file";
    out.message =
        std::string("the file does not open with its key [") + e.code() + "]: " + e.what();
    in.reset();
    return blame(blobs, w.blob_digest, what, out);
  }
  return out;
}

hall_service::hall_service(asio::any_io_executor io, db::database& database, db::hall& hall,
                           options opts)
    : impl_(std::make_shared<impl>(std::move(io), database, hall, std::move(opts))) {}

hall_service::~hall_service() {
  impl_->listener.stop();
  impl_->workers.stop();
  impl_->workers.join();
}

void hall_service::start() {
  impl_->listener.start();
  asio::co_spawn(impl_->strand, impl_->heartbeats(impl_), asio::detached);
  asio::co_spawn(impl_->strand, impl_->recover(impl_), asio::detached);
}

void hall_service::stop(std::chrono::steady_clock::time_point /*deadline*/) {
  impl_->listener.stop();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopped = true;
    for (auto& [id, h] : impl_->hubs) {
      asio::post(h->strand, [h] {
        h->stopped = true;
        h->timer.cancel();
        for (auto& [cid, s] : h->subs) {
          s->closed = true;
          s->timer.cancel();
        }
        h->subs.clear();
        h->full_subs.clear();
        h->summary_by_org.clear();
      });
    }
    impl_->by_connection.clear();
  }
  asio::post(impl_->strand, [i = impl_] {
    i->heartbeat_timer.cancel();
    i->recovery_timer.cancel();
  });
  // Decryptions in progress finish; queued ones are dropped and run again at the next start.
  impl_->workers.stop();
  impl_->workers.join();
}

db::hall& hall_service::hall() {
  return impl_->hall;
}

storage::blob_store& hall_service::blobs() {
  return *impl_->blobs;
}

const hall_service::options& hall_service::settings() const {
  return impl_->opts;
}

void hall_service::subscribe(const std::shared_ptr<net::ws_connection>& c, std::string tender_id,
                             db::hall_viewer viewer, std::int64_t after, bool summary) {
  std::shared_ptr<hub> h;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) {
      c->close("server shutting down");
      return;
    }
    h = impl_->hub_for(tender_id);
    ++h->refs;
    if (auto [it, added] = impl_->by_connection.try_emplace(c->id(), h); !added) {
      --it->second->refs;  // one subscription per connection: the newer one replaces it
      it->second = h;
    }
  }
  asio::post(h->strand, [i = impl_, h, c, viewer = std::move(viewer), after, summary]() mutable {
    if (h->stopped) return;
    auto s = std::make_shared<subscriber>(h->strand, c, std::move(viewer), after, summary);
    if (s->summary) h->progress_due = true;  // its first counts come with the next tick
    h->remove(c->id());
    h->add(s, c->id());
    asio::co_spawn(h->strand, i->catch_up(i, h, s), asio::detached);
  });
}

void hall_service::unsubscribe(std::uint64_t connection_id) {
  std::shared_ptr<hub> h;
  {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->by_connection.find(connection_id);
    if (it == impl_->by_connection.end()) return;
    h = it->second;
    --h->refs;
    impl_->by_connection.erase(it);
  }
  asio::post(h->strand, [h, connection_id] { h->remove(connection_id); });
}

void hall_service::submit(db::hall_work work) {
  impl_->submit(std::move(work));
}

asio::awaitable<void> hall_service::on_workers(std::function<void()> f) {
  auto task = [f = std::move(f)]() -> asio::awaitable<void> {
    f();
    co_return;
  };
  co_await asio::co_spawn(impl_->workers.get_executor(), std::move(task), asio::use_awaitable);
}

void hall_service::cut_snapshot(json::object& hall, const std::string& org_id) {
  for (const char* list : {"attendance", "bidders"}) {
    if (auto* l = hall.if_contains(list))
      hall[std::string(list) + "_total"] = keep_own(*l, "org_id", org_id);
  }
  auto* a = hall.if_contains("announcement");
  auto* lots = a != nullptr && a->is_object() ? a->get_object().if_contains("lots") : nullptr;
  if (lots == nullptr || !lots->is_array()) return;
  for (auto& lot : lots->get_array()) {
    if (!lot.is_object()) continue;
    if (auto* rows = lot.get_object().if_contains("rows"))
      lot.get_object()["rows_total"] = keep_own(*rows, "org_id", org_id);
  }
}

std::size_t hall_service::hub_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->hubs.size();
}

}  // namespace tender::app
