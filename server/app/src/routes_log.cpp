// /api/v1/log/* — the audit log over HTTP: the latest signed checkpoint, the verifier key, the
// events with their leaves, and inclusion and consistency proofs (protocol/docs/audit-log.md).

#include "audit_service.hpp"
#include "auth.hpp"
#include "guarded.hpp"
#include "routes.hpp"

#include <tender/core/log.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/db/database.hpp>
#include <tender/db/error.hpp>
#include <tender/db/hall.hpp>
#include <tender/db/identity.hpp>
#include <tender/protocol/audit.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tender::app {
namespace paudit = protocol::audit;
using protocol::errc;

namespace {

// Events per page when the client does not say.
constexpr std::uint64_t default_page = 100;
// Largest value any numeric parameter may take: sequence numbers and sizes are bigint.
constexpr std::uint64_t max_number = static_cast<std::uint64_t>(INT64_MAX);

// A query parameter that is unknown, repeated, missing or not a plain decimal number.
struct bad_parameter : rejected_request {
  explicit bad_parameter(std::string m) : rejected_request{errc::log_bad_parameter, std::move(m)} {}
};

// Strict decimal: digits only, no sign, no leading zeros, at most max_number.
std::optional<std::uint64_t> decimal(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max_number) return std::nullopt;
  return v;
}

// "a=1&b=2" into numbers. Every name must be one of `allowed` and appear at most once. Values are
// never percent-decoded: a number has no reason to be encoded, so '%' is simply not a digit.
std::map<std::string, std::uint64_t> numeric_query(
    std::string_view query, std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::uint64_t> out;
  if (query.empty()) return out;
  std::string list;
  for (const auto a : allowed)
    list += std::string(list.empty() ? "" : ", ") + std::string(a);
  while (true) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const auto eq = part.find('=');
    const std::string name(part.substr(0, eq));
    if (part.empty() || eq == std::string_view::npos) {
      throw bad_parameter{"query parameter '" + std::string(part) +
                          "' is not of the form name=value"};
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      throw bad_parameter{"unknown query parameter '" + name + "' (this endpoint takes " +
                          (list.empty() ? std::string("none") : list) + ")"};
    }
    if (out.count(name) != 0u) throw bad_parameter{"query parameter '" + name + "' is repeated"};
    const auto value = decimal(part.substr(eq + 1));
    if (!value) {
      throw bad_parameter{"query parameter '" + name +
                          "' must be a whole number from 0 to 9223372036854775807 written in "
                          "plain decimal, got '" +
                          std::string(part.substr(eq + 1)) + "'"};
    }
    out.emplace(name, *value);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::uint64_t required(const std::map<std::string, std::uint64_t>& q, const std::string& name) {
  const auto it = q.find(name);
  if (it == q.end()) throw bad_parameter{"query parameter '" + name + "' is required"};
  return it->second;
}

std::string hex(const crypto::merkle::hash& h) {
  return crypto::to_hex(h);
}

std::vector<std::string> hex_list(const std::vector<crypto::merkle::hash>& hashes) {
  std::vector<std::string> out;
  out.reserve(hashes.size());
  for (const auto& h : hashes)
    out.push_back(hex(h));
  return out;
}

paudit::event_record wire_record(const db::audit_record& r) {
  return {r.fields, crypto::base64_encode(crypto::as_bytes(r.leaf_data)), hex(r.leaf_hash)};
}

net::response text(std::string body) {
  net::response res;
  res.status = 200;
  res.content_type = "text/plain; charset=utf-8";
  res.body = std::move(body);
  return res;
}

// The tender an event is about: its subject's first segment when that is a tender id
// ("t-…" or "t-…/lot/2"); empty otherwise.
std::string tender_of(const db::audit_record& r) {
  if (!r.fields.subject || r.fields.subject->rfind("t-", 0) != 0) return {};
  return r.fields.subject->substr(0, r.fields.subject->find('/'));
}

// Who downloaded, asked, bid or signed in is secret until the tender's bidder list is published
// (SPEC §13, 招标投标法 art. 22), from everyone but supervisors: for other readers the events about
// such a tender keep only their seq, time and leaf hash, so the tree still verifies.
boost::asio::awaitable<std::vector<paudit::event_record>> for_reader(
    db::database& database, const db::principal& who, const std::vector<db::audit_record>& rows) {
  std::vector<paudit::event_record> out;
  out.reserve(rows.size());
  std::set<std::string> open;
  if (!who.who.has_role("supervisor")) {
    std::vector<std::string> tenders;
    for (const auto& r : rows) {
      if (auto t = tender_of(r); !t.empty()) tenders.push_back(std::move(t));
    }
    open = co_await db::lists_public(database.connections(), std::move(tenders));
  }
  for (const auto& r : rows) {
    auto rec = wire_record(r);
    const auto t = tender_of(r);
    if (!who.who.has_role("supervisor") && !t.empty() && open.count(t) == 0u) {
      rec = paudit::event_record{};
      rec.fields.seq = r.fields.seq;
      rec.fields.time = r.fields.time;
      rec.leaf_hash_hex = hex(r.leaf_hash);
      rec.withheld = true;
    }
    out.push_back(std::move(rec));
  }
  co_return out;
}

// The audit log's own code; everything else is handled by guarded().
std::optional<net::response> log_error(const db::error& e) {
  if (e.code() == db::audit_codes::bad_range)
    return net::response::error(errc::log_bad_range, e.what());
  return std::nullopt;
}

}  // namespace

void add_log_routes(net::router& r, db::database& database, audit_service& audit) {
  // A pointer, captured by value: the log outlives the router (both live as long as serve()).
  db::audit_log* log = &audit.log();
  auto ids = std::make_shared<db::identity>(database.connections(), db::identity::options{});
  // Events name who did what to which tender (a download, a question before the deadline), which
  // is confidential (SPEC §3, §13): only these roles read them, and only supervisors a tender's
  // events before its bidder list is published (for_reader). The checkpoint, the
  // key and the proofs carry hashes only and stay public, so anyone can check the log grows
  // append-only.
  const std::vector<std::string> event_readers{"supervisor", "admin", "center_staff"};

  // The latest signed checkpoint, as the C2SP signed note itself.
  r.add("GET", "/api/v1/log/checkpoint",
        guarded(database, "audit log request", log_error,
                [log](net::request& req) -> boost::asio::awaitable<net::response> {
                  numeric_query(req.query, {});
                  const auto cp = co_await log->latest_checkpoint();
                  if (!cp) {
                    co_return net::response::error(
                        errc::log_not_found, "no checkpoint has been signed yet; retry shortly");
                  }
                  co_return text(cp->note);
                }));

  // The verifier key of the checkpoint signer. Fetching it here is trust on first use; auditors
  // should get it through another channel and pin it (tender audit verify --key).
  r.add("GET", "/api/v1/log/key",
        [&audit](net::request& req) -> boost::asio::awaitable<net::response> {
          try {
            numeric_query(req.query, {});
          } catch (const bad_parameter& e) {
            co_return net::response::error(errc::log_bad_parameter, e.message);
          }
          co_return text(audit.verifier_key() + "\n");
        });

  r.add("GET", "/api/v1/log/events",
        authorized(
            database, ids, event_readers, log_error,
            [log, &database](net::request& req,
                             const db::principal& who) -> boost::asio::awaitable<net::response> {
              const auto q = numeric_query(req.query, {"from", "limit"});
              const std::uint64_t from = q.count("from") != 0u ? q.at("from") : 0;
              std::uint64_t limit = q.count("limit") != 0u ? q.at("limit") : default_page;
              if (limit == 0) throw bad_parameter{"query parameter 'limit' must be at least 1"};
              limit = std::min<std::uint64_t>(limit, db::audit_log::max_page);
              const auto rows = co_await log->events(from, static_cast<std::size_t>(limit));
              // Read after the events, so it is never smaller than the last seq returned + 1.
              const auto size = co_await log->size();
              paudit::event_page page;
              page.log_size = size;
              page.from = from;
              page.events = co_await for_reader(database, who, rows);
              const std::uint64_t after = rows.empty() ? from : rows.back().fields.seq + 1;
              if (!rows.empty() && after < size) page.next = after;
              co_return net::response::json(200, paudit::to_json(page));
            },
            "audit log request"));

  r.add("GET", "/api/v1/log/events/{seq}",
        authorized(
            database, ids, event_readers, log_error,
            [log, &database](net::request& req,
                             const db::principal& who) -> boost::asio::awaitable<net::response> {
              numeric_query(req.query, {});
              const std::string& text_seq = req.params.at("seq");
              const auto seq = decimal(text_seq);
              if (!seq) {
                throw bad_parameter{"event number '" + text_seq +
                                    "' must be a whole number in plain decimal"};
              }
              const auto row = co_await log->event(*seq);
              if (!row) {
                co_return net::response::error(errc::log_not_found,
                                               "no event " + std::to_string(*seq) + " in the log");
              }
              // A named vector: GCC 12 miscompiles a braced temporary inside co_await.
              std::vector<db::audit_record> one;
              one.push_back(*row);
              const auto shown = co_await for_reader(database, who, one);
              co_return net::response::json(200, paudit::to_json(shown.front()));
            },
            "audit log request"));

  r.add(
      "GET", "/api/v1/log/proof/inclusion",
      guarded(
          database, "audit log request", log_error,
          [log](net::request& req) -> boost::asio::awaitable<net::response> {
            const auto q = numeric_query(req.query, {"index", "size"});
            const std::uint64_t index = required(q, "index");
            const std::uint64_t size = required(q, "size");
            const auto proof = co_await log->inclusion_proof(index, size);
            paudit::inclusion_proof body{index, size, hex(proof.leaf_hash), hex_list(proof.proof)};
            co_return net::response::json(200, paudit::to_json(body));
          }));

  r.add("GET", "/api/v1/log/proof/consistency",
        guarded(database, "audit log request", log_error,
                [log](net::request& req) -> boost::asio::awaitable<net::response> {
                  const auto q = numeric_query(req.query, {"old", "new"});
                  const std::uint64_t old_size = required(q, "old");
                  const std::uint64_t new_size = required(q, "new");
                  const auto proof = co_await log->consistency_proof(old_size, new_size);
                  paudit::consistency_proof body{old_size, new_size, hex_list(proof)};
                  co_return net::response::json(200, paudit::to_json(body));
                }));
}

}  // namespace tender::app
