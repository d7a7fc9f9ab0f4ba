#include <tender/db/audit_log.hpp>
#include <tender/db/error.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "pool.hpp"
#include "prepared.hpp"
#include "sql_array.hpp"

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/crypto/suite.hpp>

#include <pqxx/pqxx>

#include <array>
#include <map>
#include <utility>

namespace net = boost::asio;

namespace tender::db {
namespace merkle = crypto::merkle;
namespace note = crypto::note;
namespace paudit = protocol::audit;

namespace {

// The canonical text of a timestamp in the leaf: UTC, microseconds, always six digits.
#define TENDER_AUDIT_TIME(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

// The head row, locked until the transaction ends. The clock is read in the outer query, after
// the CTE has taken the lock (a CTE with FOR UPDATE is never inlined), so an event's time is
// never earlier than that of the event before it.
constexpr const char* lock_head_sql =
    "WITH head AS (SELECT size, frontier FROM audit_head WHERE id FOR UPDATE) "
    "SELECT size, encode(frontier, 'hex'), " TENDER_AUDIT_TIME("clock_timestamp()") " FROM head";

constexpr const char* read_head_sql =
    "SELECT size, encode(frontier, 'hex') FROM audit_head WHERE id";

constexpr const char* read_size_sql = "SELECT size FROM audit_head WHERE id";

// The event, the nodes its append completed and the new head, in one round trip.
constexpr const char* write_append_sql = R"sql(
WITH event AS (
  INSERT INTO audit_events
    (seq, logged_at, actor, role, action, subject, payload_digest, salt, leaf_data, leaf_hash)
  VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, decode($8, 'hex'), decode($9, 'hex'),
          decode($10, 'hex'))
), nodes AS (
  INSERT INTO audit_nodes (level, index, hash)
  SELECT l, i, decode(h, 'hex') FROM unnest($11::smallint[], $12::bigint[], $13::text[]) AS n(l, i, h)
)
UPDATE audit_head SET size = $14, frontier = decode($15, 'hex') WHERE id)sql";

#define TENDER_AUDIT_EVENT_COLUMNS \
  "seq, " TENDER_AUDIT_TIME("logged_at") ", actor, role, action, subject, payload_digest, " \
  "encode(leaf_data, 'hex'), encode(leaf_hash, 'hex'), encode(salt, 'hex')"

constexpr const char* select_event_sql =
    "SELECT " TENDER_AUDIT_EVENT_COLUMNS " FROM audit_events WHERE seq = $1";

constexpr const char* select_events_sql =
    "SELECT " TENDER_AUDIT_EVENT_COLUMNS " FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2";

constexpr const char* select_nodes_sql = R"sql(
SELECT n.level, n.index, encode(n.hash, 'hex')
FROM audit_nodes n
JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, index)
  ON n.level = w.level AND n.index = w.index)sql";

// clang-format off
constexpr const char* latest_checkpoint_sql =
    "SELECT size, encode(root, 'hex'), note, " TENDER_AUDIT_TIME("created_at")
    " FROM audit_checkpoints ORDER BY size DESC LIMIT 1";
// clang-format on

constexpr const char* insert_checkpoint_sql =
    "INSERT INTO audit_checkpoints (size, root, note) VALUES ($1, decode($2, 'hex'), $3) "
    "ON CONFLICT (size) DO NOTHING";

#undef TENDER_AUDIT_EVENT_COLUMNS
#undef TENDER_AUDIT_TIME

[[noreturn]] void corrupt(const std::string& what) {
  throw error(audit_codes::corrupt, "the audit log's stored data is inconsistent: " + what);
}

merkle::hash hash_from_hex(const std::string& hex, const char* what) {
  if (hex.size() != 64) corrupt(std::string(what) + " is not a 32-byte hash");
  try {
    return merkle::hash_from_bytes(crypto::hex_decode(hex));
  } catch (const crypto::error&) {
    corrupt(std::string(what) + " is not a 32-byte hash");
  }
}

std::string hex(const merkle::hash& h) {
  return crypto::to_hex(h);
}

std::int64_t as_i64(std::uint64_t v, const char* what) {
  if (v > static_cast<std::uint64_t>(INT64_MAX)) {
    throw error(audit_codes::bad_range, std::string(what) + " is beyond any possible log size");
  }
  return static_cast<std::int64_t>(v);
}

merkle::frontier restore_frontier(std::uint64_t size, const std::string& frontier_hex) {
  std::vector<merkle::hash> nodes;
  crypto::bytes raw;
  try {
    // An empty tree has an empty frontier (and hex_decode wants at least one byte).
    if (!frontier_hex.empty()) raw = crypto::hex_decode(frontier_hex);
  } catch (const crypto::error&) {
    corrupt("audit_head.frontier is not hex");
  }
  if (raw.size() % 32 != 0) corrupt("audit_head.frontier is not a list of 32-byte hashes");
  for (std::size_t i = 0; i < raw.size(); i += 32) {
    merkle::hash h{};
    std::copy_n(raw.begin() + static_cast<std::ptrdiff_t>(i), 32, h.begin());
    nodes.push_back(h);
  }
  try {
    return merkle::frontier::restore(size, std::move(nodes));
  } catch (const crypto::error& e) {
    corrupt(std::string("audit_head: ") + e.what());
  }
}

std::string frontier_hex(const merkle::frontier& f) {
  std::string out;
  for (const auto& h : f.nodes())
    out += hex(h);
  return out;
}

struct head_row {
  std::uint64_t size = 0;
  std::string frontier_hex;
};

head_row read_head(pqxx::transaction_base& tx) {
  const auto row = tx.exec1(read_head_sql);
  return {row[0].as<std::uint64_t>(), row[1].as<std::string>()};
}

audit_record record_from(const pqxx::row& row) {
  audit_record r;
  r.fields.seq = row[0].as<std::uint64_t>();
  r.fields.time = row[1].as<std::string>();
  r.fields.actor = row[2].as<std::string>();
  r.fields.role = row[3].as<std::string>();
  r.fields.action = row[4].as<std::string>();
  if (!row[5].is_null()) r.fields.subject = row[5].as<std::string>();
  if (!row[6].is_null()) r.fields.payload_digest = row[6].as<std::string>();
  try {
    const auto text = row[7].as<std::string>();
    if (!text.empty()) {
      const auto data = crypto::hex_decode(text);
      r.leaf_data.assign(data.begin(), data.end());
    }
  } catch (const crypto::error&) {
    corrupt("audit_events.leaf_data of event " + std::to_string(r.fields.seq));
  }
  // A tampered hash is served as stored (verifiers must see what is there); only a hash that is
  // not 32 bytes at all cannot be represented.
  r.leaf_hash = hash_from_hex(row[8].as<std::string>(), "audit_events.leaf_hash");
  // NULL for a v1 event, logged before salts existed.
  if (!row[9].is_null()) r.fields.salt = row[9].as<std::string>();
  return r;
}

std::optional<audit_checkpoint> read_latest_checkpoint(pqxx::transaction_base& tx) {
  const auto rows = tx.exec(latest_checkpoint_sql);
  if (rows.empty()) return std::nullopt;
  audit_checkpoint cp;
  cp.size = rows[0][0].as<std::uint64_t>();
  cp.root = hash_from_hex(rows[0][1].as<std::string>(), "audit_checkpoints.root");
  cp.note = rows[0][2].as<std::string>();
  cp.created_at = rows[0][3].as<std::string>();
  return cp;
}

// Runs a Merkle computation against the stored nodes in two passes: the first records which nodes
// it asks for (which depends only on the sizes, never on the hashes), then one query fetches them
// all and the second pass uses them. One round trip instead of one per node.
template <class F>
auto with_stored_nodes(pqxx::transaction_base& tx, F compute) {
  std::vector<merkle::node_id> wanted;
  const merkle::node_reader record = [&wanted](merkle::node_id id) {
    wanted.push_back(id);
    return merkle::hash{};
  };
  compute(record);
  std::vector<int> levels;
  std::vector<std::int64_t> indexes;
  for (const auto& id : wanted) {
    levels.push_back(static_cast<int>(id.level));
    indexes.push_back(static_cast<std::int64_t>(id.index));
  }
  std::map<std::pair<unsigned, std::uint64_t>, merkle::hash> stored;
  if (!wanted.empty()) {
    const auto rows = tx.exec_params(select_nodes_sql, int_array(levels), int_array(indexes));
    for (const auto& row : rows) {
      stored.emplace(std::pair(row[0].as<unsigned>(), row[1].as<std::uint64_t>()),
                     hash_from_hex(row[2].as<std::string>(), "audit_nodes.hash"));
    }
  }
  const merkle::node_reader read = [&stored](merkle::node_id id) {
    const auto it = stored.find({id.level, id.index});
    if (it == stored.end()) {
      corrupt("audit_nodes has no node (" + std::to_string(id.level) + ", " +
              std::to_string(id.index) + ")");
    }
    return it->second;
  };
  return compute(read);
}

void check_size(std::uint64_t size, std::uint64_t current) {
  if (size > current) {
    throw error(audit_codes::bad_range, "tree size " + std::to_string(size) +
                                            " is beyond the log's current size " +
                                            std::to_string(current));
  }
}

// Merkle calls with arguments already checked can still throw crypto::error for impossible
// shapes; report them as this layer's errors.
template <class F>
auto merkle_call(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const crypto::error& e) {
    if (e.code() == merkle::err_reader) corrupt(e.what());
    throw error(audit_codes::bad_range, e.what());
  }
}

}  // namespace

std::string audit_payload_digest(std::string_view payload) {
  return crypto::to_hex(crypto::sha256(payload));
}

// ---- Inside a caller's transaction --------------------------------------------------------------

namespace audit_tx {

audit_appended append_change(pqxx::transaction_base& tx, std::string actor, std::string role,
                             std::string action, std::optional<std::string> subject,
                             const boost::json::object& change) {
  audit_entry e;
  e.actor = std::move(actor);
  e.role = std::move(role);
  e.action = std::move(action);
  e.subject = std::move(subject);
  e.payload_digest = audit_payload_digest(canonical_json(change));
  return append(tx, e);
}

audit_appended append(pqxx::transaction_base& tx, const audit_entry& entry) {
  paudit::event ev;
  ev.actor = entry.actor;
  ev.role = entry.role;
  ev.action = entry.action;
  ev.subject = entry.subject;
  ev.payload_digest = entry.payload_digest;
  // The secret that keeps the leaf hash from being recomputed out of guessed fields
  // (protocol/docs/audit-log.md §2.2): one draw from the system generator, no round trip.
  std::array<std::uint8_t, paudit::salt_bytes> salt{};
  crypto::system_random().fill(salt);
  ev.salt = crypto::to_hex(salt);
  // Check the caller's fields before taking the lock; the time is filled in under it.
  ev.time = "1970-01-01T00:00:00.000000Z";
  if (auto problem = paudit::check_event(ev); !problem.empty()) {
    throw error(audit_codes::bad_event, "audit event rejected: " + problem);
  }

  const auto head_rows = exec_prepared_sql(tx, "audit_lock_head", lock_head_sql);
  if (head_rows.size() != 1) corrupt("audit_head has no row");
  const auto head = head_rows[0];
  auto front = restore_frontier(head[0].as<std::uint64_t>(), head[1].as<std::string>());
  ev.seq = front.size();
  ev.time = head[2].as<std::string>();
  if (auto problem = paudit::check_event(ev); !problem.empty()) corrupt(problem);

  const std::string data = paudit::leaf_data(ev);
  const merkle::hash leaf = merkle::leaf_hash(crypto::as_bytes(data));
  std::vector<int> levels;
  std::vector<std::int64_t> indexes;
  std::string hashes = "{";
  front.append(leaf, [&](merkle::node_id id, const merkle::hash& h) {
    levels.push_back(static_cast<int>(id.level));
    indexes.push_back(static_cast<std::int64_t>(id.index));
    hashes += (hashes.size() > 1 ? "," : "") + hex(h);
  });
  hashes += "}";

  const char* subject = entry.subject ? entry.subject->c_str() : nullptr;
  const char* digest = entry.payload_digest ? entry.payload_digest->c_str() : nullptr;
  exec_prepared_sql(tx, "audit_write_append", write_append_sql, as_i64(ev.seq, "seq"), ev.time,
                    ev.actor, ev.role, ev.action, subject, digest, *ev.salt,
                    crypto::hex_encode(crypto::as_bytes(data)), hex(leaf), int_array(levels),
                    int_array(indexes), hashes, as_i64(front.size(), "size"), frontier_hex(front));
  return {ev.seq, ev.time, leaf};
}

std::optional<audit_checkpoint> checkpoint(pqxx::transaction_base& tx, const std::string& origin,
                                           const note::ed25519_signer& signer) {
  const auto head = read_head(tx);
  auto latest = read_latest_checkpoint(tx);
  if (head.size == 0 || (latest && latest->size >= head.size)) return latest;
  const auto front = restore_frontier(head.size, head.frontier_hex);
  const merkle::hash root = front.root();
  // Sign only a root that the stored nodes reproduce, so every proof served later agrees with it.
  const merkle::hash from_nodes = with_stored_nodes(tx, [&](const merkle::node_reader& r) {
    return merkle_call([&] { return merkle::root(head.size, r); });
  });
  if (from_nodes != root) corrupt("audit_head's frontier and audit_nodes disagree on the root");

  note::checkpoint cp{origin, head.size, root, {}};
  const note::ed25519_signer* signers[] = {&signer};
  const std::string text = note::sign_checkpoint(cp, signers);
  tx.exec_params(insert_checkpoint_sql, as_i64(head.size, "size"), hex(root), text);
  return read_latest_checkpoint(tx);
}

}  // namespace audit_tx

// ---- audit_log ----------------------------------------------------------------------------------

audit_log::audit_log(pool& connections, options opts)
    : pool_(connections), opts_(std::move(opts)) {}

net::awaitable<audit_appended> audit_log::append(audit_entry entry) {
  audit_appended out;
  pool::job job = [&out, &entry](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = audit_tx::append(tx, entry);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

audit_appended audit_log::append_blocking(const audit_entry& entry) {
  audit_appended out;
  pool_.run_blocking([&out, &entry](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = audit_tx::append(tx, entry);
    tx.commit();
  });
  return out;
}

net::awaitable<std::uint64_t> audit_log::size() {
  std::uint64_t out = 0;
  pool::job job = [&out](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    out = tx.exec1(read_size_sql)[0].as<std::uint64_t>();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::optional<audit_record>> audit_log::event(std::uint64_t seq) {
  std::optional<audit_record> out;
  pool::job job = [&out, seq](pqxx::connection_base& c) {
    if (seq > static_cast<std::uint64_t>(INT64_MAX)) return;
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(select_event_sql, static_cast<std::int64_t>(seq));
    if (!rows.empty()) out = record_from(rows[0]);
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::vector<audit_record>> audit_log::events(std::uint64_t from, std::size_t limit) {
  std::vector<audit_record> out;
  const auto n = static_cast<std::int64_t>(std::min(limit, max_page));
  pool::job job = [&out, from, n](pqxx::connection_base& c) {
    if (from > static_cast<std::uint64_t>(INT64_MAX) || n == 0) return;
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(select_events_sql, static_cast<std::int64_t>(from), n);
    out.reserve(rows.size());
    for (const auto& row : rows)
      out.push_back(record_from(row));
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<audit_inclusion> audit_log::inclusion_proof(std::uint64_t index,
                                                           std::uint64_t size) {
  audit_inclusion out;
  pool::job job = [&out, index, size](pqxx::connection_base& c) {
    if (size == 0)
      throw error(audit_codes::bad_range, "an inclusion proof needs a tree size above 0");
    if (index >= size) {
      throw error(
          audit_codes::bad_range,
          "index " + std::to_string(index) + " is not below the tree size " + std::to_string(size));
    }
    pqxx::read_transaction tx(c);
    check_size(size, read_head(tx).size);
    out = with_stored_nodes(tx, [&](const merkle::node_reader& r) {
      return merkle_call([&] {
        return audit_inclusion{r({0, index}), merkle::inclusion_proof(index, size, r)};
      });
    });
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::vector<merkle::hash>> audit_log::consistency_proof(std::uint64_t old_size,
                                                                       std::uint64_t new_size) {
  std::vector<merkle::hash> out;
  pool::job job = [&out, old_size, new_size](pqxx::connection_base& c) {
    if (old_size == 0) {
      throw error(audit_codes::bad_range,
                  "a consistency proof needs an old size above 0 (the empty tree is a prefix of "
                  "every tree)");
    }
    if (old_size > new_size) {
      throw error(audit_codes::bad_range, "old size " + std::to_string(old_size) +
                                              " is larger than new size " +
                                              std::to_string(new_size));
    }
    pqxx::read_transaction tx(c);
    check_size(new_size, read_head(tx).size);
    out = with_stored_nodes(tx, [&](const merkle::node_reader& r) {
      return merkle_call([&] { return merkle::consistency_proof(old_size, new_size, r); });
    });
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<merkle::hash> audit_log::root(std::uint64_t size) {
  merkle::hash out{};
  pool::job job = [&out, size](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    check_size(size, read_head(tx).size);
    out = with_stored_nodes(tx, [&](const merkle::node_reader& r) {
      return merkle_call([&] { return merkle::root(size, r); });
    });
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::optional<audit_checkpoint>> audit_log::latest_checkpoint() {
  std::optional<audit_checkpoint> out;
  pool::job job = [&out](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    out = read_latest_checkpoint(tx);
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::optional<audit_checkpoint>> audit_log::checkpoint() {
  if (!opts_.signer) throw error(audit_codes::no_signer, "this audit log has no checkpoint signer");
  std::optional<audit_checkpoint> out;
  pool::job job = [this, &out](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = audit_tx::checkpoint(tx, opts_.origin, *opts_.signer);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

std::optional<audit_checkpoint> audit_log::checkpoint_blocking() {
  if (!opts_.signer) throw error(audit_codes::no_signer, "this audit log has no checkpoint signer");
  std::optional<audit_checkpoint> out;
  pool_.run_blocking([this, &out](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = audit_tx::checkpoint(tx, opts_.origin, *opts_.signer);
    tx.commit();
  });
  return out;
}

}  // namespace tender::db
