#pragma once

// The opening hall (protocol/docs/hall-protocol.md) in the SDK.
//
// hall::session is an asynchronous WebSocket session on an io_context the caller owns and runs,
// so one process can hold thousands of sessions on a few threads. It sends `hello`, delivers the
// welcome, the snapshot and every event exactly once and in order, answers each act() with its
// ack or error, pings while idle, and reconnects by itself with `hello {"after": last seq}` when
// the connection drops or when it sees a gap in the sequence numbers.
//
// Every callback of a session runs on that session's own strand, one at a time. act() and close()
// may be called from any thread.
//
// The free functions below are the client's side of the signed actions and remedies: the signed
// message of §8, the commitment of a draw nonce, unwrapping a file key from a sealed header,
// uploading a backup file, making a custodian's decryption share. blocking_session wraps a
// session for command-line tools and tests.

#include <tender/client/client.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace tender::client::hall {

struct viewer {
  std::string role;  // host | supervisor | bidder | custodian | public
  std::string user_id;
  std::string org_id;
};

struct welcome {
  std::string tender_id;
  hall::viewer viewer;
  std::int64_t head = 0;
  std::string server_time;
};

struct snapshot {
  std::int64_t seq = 0;
  std::string hall_json;  // the §7 object
};

struct event {
  std::int64_t seq = 0;
  std::string kind;  // "redacted" for an event this viewer may not see
  std::string at;
  std::string actor_json;  // an object, or "null"
  std::string data_json;   // an object ("{}" when redacted)
  std::string json;        // the whole message as received
};

// The answer to one act(): an ack (ok) or an error with the server's code (hall.*), or a local
// code: client.disconnected when the connection dropped before the answer came (the action may
// or may not have been applied: look at the events), client.closed after close().
struct act_result {
  bool ok = false;
  std::optional<std::int64_t> seq;  // the action's event, when it has one
  std::string result_json = "{}";
  std::string code;
  std::string message;
};

struct session_options {
  tender::client::options server;  // http(s)://host:port of a tenderd (ws/wss are derived)
  std::string tender_id;
  std::optional<std::string> token;  // none: the public
  // Where to start: none asks for a snapshot; a seq asks for every event after it.
  std::optional<std::int64_t> after;
  bool reconnect = true;
  std::chrono::milliseconds reconnect_delay{500};  // doubled per failed attempt, up to 8x
  std::chrono::milliseconds ping_interval{20000};

  // "full": every event (redacted placeholders for what the role may not see). "summary" (for
  // bidders and the public in big halls, hall-protocol.md §4.1): the other bidders' per-bidder
  // events come as skipped ranges (on_skip), the long lists of list_published, announced and
  // confirmation_closed are cut to this organisation's rows, and counts come as on_progress.
  // Staff always get the full view.
  std::string view = "full";

  std::function<void(const welcome&)> on_welcome;  // after every (re)connection
  std::function<void(const snapshot&)> on_snapshot;
  std::function<void(const event&)> on_event;  // each seq once, in order, no gaps
  // Summary view: events from..to were not for this view (seqs still contiguous with on_event).
  std::function<void(std::int64_t from, std::int64_t to)> on_skip;
  // Summary view: the hall's counts (§4.1 `progress`, a JSON object), at most about once a second.
  std::function<void(const std::string& hall_json)> on_progress;
  // A refusal that ends the session (auth.invalid_token, hall.bad_cursor, hall.not_public_yet,
  // hall.hello_required, ...): no reconnection follows.
  std::function<void(const error&)> on_fatal;
  // A lost connection (or a detected gap) before reconnecting; informational.
  std::function<void(const error&)> on_disconnect;
};

class session {
public:
  session(boost::asio::io_context& ioc, session_options o);
  ~session();  // close()s; destroy it when none of its callbacks can be running
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start();  // connects (asynchronously)
  // Sends {"type":"act","id":...,"action":action, ...params}; `params_json` is a JSON object
  // (or empty for none). Acts made before the welcome wait for it. `done` gets exactly one result.
  void act(std::string action, std::string params_json, std::function<void(act_result)> done);
  // Ends the session: no more callbacks except client.closed for acts still pending.
  void close();

  std::int64_t last_seq() const;  // the last seq delivered (snapshot or event), 0 before any
  std::optional<hall::viewer> viewer() const;
  bool connected() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Signed actions (§8).

// "tenderhall-hall-v1\n<tender_id>\n<action>\n<challenge_id>\n<challenge_b64>\n<payload>"
std::string signed_message(std::string_view tender_id, std::string_view action,
                           std::string_view challenge_id, std::string_view challenge_b64,
                           std::string_view payload);
// The decrypt payload: "<lot>\n<file>\n<hex SHA-256 of key_material>".
std::string decrypt_payload(int lot, std::string_view file, std::string_view key_material);

// A fresh random 32-byte nonce (raw) and its commitment (hex SHA-256): for sign_in and
// commit_host. The caller keeps the nonce secret until it reveals it.
struct nonce_commitment {
  std::string nonce;       // raw 32 bytes
  std::string nonce_hex;   // what reveal_host / reveal_representative send
  std::string commitment;  // hex SHA-256(nonce)
};
nonce_commitment make_nonce();
std::string commitment_of(std::string_view nonce_raw);

// Signs with the user's key (the same callback type as login). `fingerprint` is the key's
// registered fingerprint (the `key` parameter).
struct signer {
  std::string fingerprint;
  login_signer sign;
};
// A signer from a PKCS#8 PEM private key (Ed25519 or SM2).
signer signer_from_pem(std::string_view pem, std::optional<std::string_view> passphrase = {});

// challenge → sign → act: asks a challenge, builds the §8 message with payload, signs it and sends
// `action` with params + challenge_id, key, signature. `params_json` is a JSON object.
void signed_act(session& s, const std::string& tender_id, const std::string& action,
                std::string params_json, std::string payload, const signer& who,
                std::function<void(act_result)> done);

// Parameters (JSON objects) of the signed actions, without the signature fields.
std::string sign_in_params(std::string_view commitment);
std::string decrypt_params(int lot, std::string_view file, std::string_view key_material);
std::string confirm_params(std::string_view digest);

// ---------------------------------------------------------------------------------------------
// Keys and remedies, computed locally.

struct file_key {
  bool bidder_part = false;  // true under bidder-and-escrow: the bidder's part, not the file key
  std::string key;           // raw 32 bytes (a secret)
};
// Unwraps the key addressed to the bidder's encryption key (X25519 or SM2 PKCS#8 PEM) from a
// sealed header (raw bytes, e.g. base64-decoded from the snapshot's `header`) or from a sealed
// file. Throws crypto::error (sealed.wrong_key, ...) when the key does not open it.
file_key unwrap_key_from_header(std::string_view header_bytes, std::string_view enc_key_pem,
                                std::optional<std::string_view> passphrase = {});
file_key unwrap_key_from_file(const std::filesystem::path& sealed_or_backup_file,
                              std::string_view enc_key_pem,
                              std::optional<std::string_view> passphrase = {});

// The escrow proof context of one bid: "<tender_id>/lot/<lot>/<org_id>" (§9).
std::string share_context(std::string_view tender_id, int lot, std::string_view org_id);
// A custodian's decryption share (JSON of threshold-escrow.md §4) for a bid's escrow R (base64,
// `escrow_r` of list_published / the snapshot), from the escrow setup and the custodian's share
// file (both JSON texts).
std::string make_share(std::string_view setup_json, std::string_view custodian_share_json,
                       std::string_view escrow_r_b64, std::string_view tender_id, int lot,
                       std::string_view org_id);
std::string share_params(int lot, std::string_view org_id, std::string_view share_json);

// ---------------------------------------------------------------------------------------------
// HTTP (§13), synchronous, on a client with the caller's token.

struct backup_receipt {
  int lot = 0;
  std::string org_id;
  std::uint64_t size = 0;
  std::string commitment;
};
// PUT /api/v1/tenders/{id}/lots/{lot}/hall/backup with the backup file as the body.
backup_receipt upload_backup(client& c, const std::string& tender_id, int lot,
                             const std::filesystem::path& backup_file);
// GET /api/v1/tenders/{id}/hall: {"seq","hall"} as JSON text.
std::string state(client& c, const std::string& tender_id);
// GET /api/v1/tenders/{id}/hall/events?after=&limit=: {"events","head"} as JSON text.
std::string events_page(client& c, const std::string& tender_id, std::int64_t after,
                        std::size_t limit = 1000);
// GET /api/v1/tenders/{id}/opening-record: the record file (§12) as is.
std::string opening_record(client& c, const std::string& tender_id);

// ---------------------------------------------------------------------------------------------
// A blocking session: its own io_context on one thread. For the CLI and tests.

class blocking_session {
public:
  // Connects and waits for the welcome (and the snapshot when `after` is not set); throws error
  // on a refusal or after o.server.timeout.
  explicit blocking_session(session_options o);
  ~blocking_session();
  blocking_session(const blocking_session&) = delete;
  blocking_session& operator=(const blocking_session&) = delete;

  // Sends one act and waits for its answer (up to `timeout`, client.timeout otherwise).
  act_result act(const std::string& action, const std::string& params_json = "{}",
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  act_result signed_act(const std::string& action, const std::string& params_json,
                        const std::string& payload, const signer& who,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits until an event satisfies `pred` (looking at every event received so far first);
  // returns it, or throws client.timeout.
  event wait_for(const std::function<bool(const event&)>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  event wait_for_kind(const std::string& kind,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::vector<event> events() const;  // every event received, in order
  std::optional<hall::snapshot> first_snapshot() const;
  hall::welcome last_welcome() const;
  std::int64_t last_seq() const;
  const std::string& tender_id() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Throws error(result.code, result.message) unless result.ok; returns result.result_json.
std::string expect_ok(const act_result& result);

}  // namespace tender::client::hall
