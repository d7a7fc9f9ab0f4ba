#pragma once

// tenderd's audit component: the checkpoint signing key, the periodic checkpoint task and the
// node's own start/stop events. The log itself (storage, proofs) is db::audit_log.

#include <tender/core/config.hpp>
#include <tender/db/audit_log.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace tender::db {
class database;
}

namespace tender::app {

// A configuration that cannot start the server (tenderd exits with code 2 and the message).
class startup_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct audit_key {
  std::shared_ptr<const crypto::note::ed25519_signer> signer;
  std::string verifier_key;  // the public <name>+<id>+<base64> line, for auditors
  bool generated = false;    // true: made up for this process (development only)
};

// Reads audit.signing_key_file. Without one, production mode is a startup_error and development
// mode generates a key in memory (the caller logs a warning). Never puts key material in a
// message.
audit_key load_audit_key(const core::config& cfg);

// `tenderd keygen`: a new signer key written to `path` (mode 0600, never over an existing file);
// returns the verifier key. Throws startup_error.
std::string generate_audit_key_file(const std::string& path, const std::string& key_name);

class audit_service {
public:
  struct options {
    std::string node_id;
    std::string version;
    std::chrono::seconds checkpoint_interval{10};
    // How soon to look again while the database is not ready yet.
    std::chrono::milliseconds retry_interval{1000};
  };

  audit_service(boost::asio::any_io_executor io, db::database& database, audit_key key,
                std::string origin, options opts);
  ~audit_service();
  audit_service(const audit_service&) = delete;
  audit_service& operator=(const audit_service&) = delete;

  // Starts the background task: once the database is ready it records system.node_started and
  // signs a checkpoint, then signs one every checkpoint_interval when the log has grown.
  void start();
  // Stops the task, then records system.node_stopped and signs a final checkpoint (best effort,
  // blocking the calling thread, which must not be an I/O thread).
  void stop(std::chrono::steady_clock::time_point deadline);

  // True once this node's system.node_started event is in the log: /readyz waits for it, so a
  // client that saw "ready" never races the node's own start event.
  bool start_recorded() const;

  db::audit_log& log();
  const std::string& verifier_key() const;
  // The checkpoint signer, which also signs bid receipts, rehearsal confirmations and bid seals.
  std::shared_ptr<const crypto::note::ed25519_signer> signer() const;
  const std::string& origin() const;

  // For key moments (publication, deadline): a checkpoint over everything appended so far, signed
  // now unless the latest one already covers it. Runs on the pool, never on an I/O thread.
  boost::asio::awaitable<std::optional<db::audit_checkpoint>> checkpoint_now();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::app
