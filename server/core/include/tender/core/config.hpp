#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tender::core {

// Static configuration of one tenderd process. Read from a file of `key = value` lines (see
// deploy/config/tenderd.conf for every key with its meaning) and then from the environment, where
// key `a.b_c` is TENDERD_A_B_C. The environment wins, so a container or a test can override one
// value without writing a file.
struct config {
  // listen.*
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8080;  // 0 = any free port (see --port-file)
  // tls.* — TLS is on when both are set
  std::string tls_certificate;  // PEM chain
  std::string tls_private_key;  // PEM
  // database.*
  std::string database_conninfo = "host=/tmp user=postgres dbname=postgres";
  unsigned database_pool_size = 4;
  // Connections kept apart for the opening hall's short urgent jobs (the reads that fan events
  // out, the heartbeats), so a backlog of actions never delays them; 0 shares the main pool.
  unsigned database_priority_pool_size = 2;
  std::chrono::milliseconds database_retry_interval{1000};
  // io.*
  unsigned io_threads = 2;
  // limits.*
  std::size_t limits_header_bytes = 8 * 1024;
  std::size_t limits_body_bytes = 1024 * 1024;
  std::size_t limits_connections = 20000;
  std::size_t limits_connections_per_address = 256;
  std::size_t limits_websocket_message_bytes = 64 * 1024;
  std::size_t limits_websocket_queue_messages = 1024;
  std::size_t limits_websocket_queue_bytes = 16 * 1024 * 1024;
  // Login challenges (POST /api/v1/auth/challenge) one remote address may ask for per minute.
  unsigned limits_challenges_per_minute = 60;
  std::chrono::seconds limits_read_timeout{30};
  std::chrono::seconds limits_idle_timeout{60};
  // shutdown.*
  std::chrono::seconds shutdown_grace{10};
  // log.*
  std::string log_level = "info";  // debug | info | warn | error
  // mode: development | production
  std::string mode = "development";
  // audit.*
  std::string audit_signing_key_file;  // signed-note signer key; required in production
  std::string audit_log_name = "local";
  // PEM bundle of the CA roots that user certificates must chain to (empty: none accepted).
  std::string identity_ca_roots_file;  // checkpoints carry the origin "tenderhall/<log name>"
  // A directory of certificate revocation lists (PEM or DER, one per file), each signed by one of
  // the CA roots; re-read whenever a file in it is added, removed or changed. Empty: none.
  std::string identity_crl_dir;
  std::chrono::seconds audit_checkpoint_interval{10};
  // scheduler.*
  bool scheduler_enabled = true;
  std::chrono::milliseconds scheduler_poll_interval{250};

  // storage.* — where tenderd keeps files (blobs of sealed bids, partial uploads). Relative paths
  // are taken from the working directory.
  std::string storage_data_dir = "var/data";

  // submission.* — resumable bid uploads (tus 1.0)
  std::uint64_t submission_max_upload_bytes = 8ull * 1024 * 1024 * 1024;  // Tus-Max-Size
  std::uint64_t submission_bidder_quota_bytes =
      16ull * 1024 * 1024 * 1024;  // open uploads, per org
  // Stored per org and tender: the files of its bids (replaced and withdrawn ones too) and its
  // open uploads.
  std::uint64_t submission_tender_quota_bytes = 32ull * 1024 * 1024 * 1024;
  // A drill and test switch, empty in production: while a file exists at this path, the
  // verification of completed uploads waits before it starts (the workers stall). Shows that a bid
  // whose last byte came before the deadline is judged by that byte, however long it queues.
  std::string submission_hold_verification_while;

  // guarantee.* — live status queries to guarantee issuers
  std::chrono::milliseconds guarantee_status_timeout{5000};

  // hall.* — the opening hall (protocol/docs/hall-protocol.md): heartbeat period while a hall is
  // decrypting, the heartbeat gap recorded as a platform outage, and the worker threads that open
  // and verify submitted bids (never the I/O threads).
  std::chrono::milliseconds hall_heartbeat{1000};
  std::chrono::milliseconds hall_outage_threshold{5000};
  unsigned hall_decrypt_threads = 2;
  // A decryption still running this long after the window's close is ended on the platform's
  // side (decryption_incomplete), so the close never waits forever for a stalled worker.
  std::chrono::milliseconds hall_decrypt_timeout{300000};
  // A hall's hub on this node (its event reader and tick) is released after it has had no
  // connection for this long; the next connection starts a new one.
  std::chrono::milliseconds hall_hub_idle{60000};
  // The hall's WebSocket connections are closed when the session they joined with has ended
  // (logout, revocation, expiry): checked on every act and, for all connections, this often.
  std::chrono::milliseconds hall_session_recheck{15000};
  // What one client may take of the hall's WebSocket (hall-protocol.md §15).
  std::chrono::milliseconds hall_hello_timeout{10000};
  std::size_t hall_connections_per_user = 8;
  // Connections the public's hall viewers may never take (of limits.connections), kept for the
  // participants: bidders, host, supervisors, custodians.
  std::size_t hall_reserved_connections = 2000;
  std::size_t hall_ids_per_connection = 4096;
  unsigned hall_act_rate = 10;   // acts per second per connection, sustained
  unsigned hall_act_burst = 40;  // acts per connection at once

  bool tls_enabled() const { return !tls_certificate.empty() && !tls_private_key.empty(); }
  // The checkpoint origin line of this deployment's audit log.
  std::string audit_origin() const { return "tenderhall/" + audit_log_name; }
};

class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment.
env_lookup process_environment();

// Parses `text` (the contents of a configuration file called `origin` in messages) over the
// defaults, then applies the environment. Unknown keys, malformed lines and out-of-range values
// throw config_error naming the origin, line and key.
config parse_config(const std::string& text, const std::string& origin, const env_lookup& env);
// Reads the file at `path` (if given) and calls parse_config.
config load_config(const std::optional<std::string>& path, const env_lookup& env);

// The environment variable name for a configuration key: "listen.port" -> "TENDERD_LISTEN_PORT".
std::string env_name_for(const std::string& key);

// Every key with its current value, secrets redacted; for the startup log line.
std::map<std::string, std::string> describe(const config& c);

// A libpq connection string with every password replaced by "(redacted)", in both of libpq's
// forms: `key = value` words (values may be single-quoted, with backslash escapes) and URIs
// (postgresql://user:PASSWORD@host/db?password=PASSWORD). Text it cannot parse is redacted whole
// rather than shown.
std::string redact_conninfo(std::string_view conninfo);

}  // namespace tender::core
