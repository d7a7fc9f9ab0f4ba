#pragma once

// The audit log in PostgreSQL: an append-only RFC 6962 Merkle log of events with signed
// checkpoints (tables in migrations/0002_audit_log.sql, format in protocol/docs/audit-log.md).
//
// Appends are serialised by a row lock on audit_head, so sequence numbers have no gaps and follow
// commit order. A caller that changes state appends its event in the same transaction as the
// change (see src/audit_tx.hpp, private to this layer); the methods here run their own
// transaction on the pool's threads and never block an I/O thread.

#include <tender/crypto/merkle.hpp>
#include <tender/protocol/audit.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::crypto::note {
class ed25519_signer;
}

namespace tender::db {

class pool;

// Codes of db::error raised by the audit log, besides the db.* ones of error.hpp. The log.* codes
// are the ones the HTTP API answers with.
namespace audit_codes {
inline constexpr const char* bad_event = "audit.bad_event";  // the fields break the event rules
inline constexpr const char* bad_range = "log.bad_range";    // index/size outside the log
inline constexpr const char* corrupt = "audit.corrupt";      // stored head or nodes inconsistent
inline constexpr const char* no_signer = "audit.no_signer";  // checkpoint asked of a read-only log
}  // namespace audit_codes

// What a caller records; seq and time are assigned by the log.
struct audit_entry {
  std::string actor;
  std::string role;
  std::string action;
  std::optional<std::string> subject;
  std::optional<std::string> payload_digest;  // see audit_payload_digest()
};

// The lower-case hex SHA-256 of a payload, for audit_entry::payload_digest.
std::string audit_payload_digest(std::string_view payload);

struct audit_appended {
  std::uint64_t seq = 0;
  std::string time;
  crypto::merkle::hash leaf_hash{};
};

struct audit_record {
  protocol::audit::event fields;
  std::string leaf_data;  // the stored bytes (normally protocol::audit::leaf_data(fields))
  crypto::merkle::hash leaf_hash{};
};

// An inclusion proof with the leaf hash it starts from, both from the stored tree.
struct audit_inclusion {
  crypto::merkle::hash leaf_hash{};
  std::vector<crypto::merkle::hash> proof;
};

struct audit_checkpoint {
  std::uint64_t size = 0;
  crypto::merkle::hash root{};
  std::string note;  // the signed note text
  std::string created_at;
};

class audit_log {
public:
  // Most rows one events() call returns, whatever the caller asks.
  static constexpr std::size_t max_page = 1000;

  struct options {
    std::string origin;  // the checkpoint origin line, "tenderhall/<log name>"
    // Signs checkpoints; may be null for a log that only reads and appends.
    std::shared_ptr<const crypto::note::ed25519_signer> signer;
  };

  audit_log(pool& connections, options opts);

  const std::string& origin() const { return opts_.origin; }

  // Appends one event in a transaction of its own. Throws db::error (audit.bad_event, db.*).
  boost::asio::awaitable<audit_appended> append(audit_entry entry);

  // The number of events (the tree size) as committed now.
  boost::asio::awaitable<std::uint64_t> size();
  boost::asio::awaitable<std::optional<audit_record>> event(std::uint64_t seq);
  // Events with seq >= from, in order, at most min(limit, max_page).
  boost::asio::awaitable<std::vector<audit_record>> events(std::uint64_t from, std::size_t limit);

  // Proofs against the tree of `size` leaves, which must not exceed the current size
  // (log.bad_range otherwise): RFC 6962 PATH(index, D[size]) and PROOF(old_size, D[new_size]),
  // with 0 < old_size <= new_size.
  boost::asio::awaitable<audit_inclusion> inclusion_proof(std::uint64_t index, std::uint64_t size);
  boost::asio::awaitable<std::vector<crypto::merkle::hash>> consistency_proof(
      std::uint64_t old_size, std::uint64_t new_size);
  // The root of the tree of `size` leaves (size <= current size), from the stored nodes.
  boost::asio::awaitable<crypto::merkle::hash> root(std::uint64_t size);

  boost::asio::awaitable<std::optional<audit_checkpoint>> latest_checkpoint();
  // Signs a checkpoint over the current size if the log grew since the latest one and returns
  // the latest checkpoint afterwards (nullopt while the log is empty). Safe to call from several
  // nodes at once: one checkpoint per size is kept.
  boost::asio::awaitable<std::optional<audit_checkpoint>> checkpoint();

  // Blocking forms for startup and shutdown only (they run on the calling thread).
  audit_appended append_blocking(const audit_entry& entry);
  std::optional<audit_checkpoint> checkpoint_blocking();

private:
  pool& pool_;
  options opts_;
};

}  // namespace tender::db
