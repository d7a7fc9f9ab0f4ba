#pragma once

#include <tender/protocol/audit.hpp>
#include <tender/protocol/coded_error.hpp>
#include <tender/protocol/health.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tender::client {

struct http_response;

struct options {
  std::string server = "http://127.0.0.1:8080";  // http:// or https://
  std::string ca_file;    // PEM roots to trust for https; empty: the system's roots
  bool insecure = false;  // https without verifying the certificate (never in production)
  std::chrono::milliseconds timeout{10000};
  // Called with every response this client receives (its method, its target as passed to
  // request(), path and query), before the SDK looks at it. Tests use it to check every answer
  // against the OpenAPI description. Must not throw.
  std::function<void(std::string_view method, std::string_view target, const http_response&)>
      on_response;
};

// A failure talking to the server. code() is stable: client.bad_url, client.connect_failed,
// client.tls_failed, client.timeout, client.bad_response — or, when the server answered with a
// JSON error, the server's own code (route.not_found, ...), with http_status() set.
class error : public protocol::coded_error {
public:
  error(std::string code, const std::string& message, unsigned http_status = 0)
      : coded_error(std::move(code), message), http_status_(http_status) {}
  unsigned http_status() const noexcept { return http_status_; }

private:
  unsigned http_status_;
};

// Identity (POST /api/v1/auth/*, GET /api/v1/me, the admin endpoints).
struct login_challenge {
  std::string challenge_id;
  std::string challenge;  // the 32 raw bytes
  std::string expires_at;
};

struct session_info {
  std::string token;  // the bearer token; a secret
  std::string expires_at;
  std::string user_id;
  std::vector<std::string> roles;
};

struct user_info {
  std::string id;
  std::string org_id;
  std::string name;
  std::vector<std::string> roles;
  std::string created_at;
};

struct org_info {
  std::string id;
  std::string kind;
  std::string name;
  std::string created_at;
};

struct whoami_info {
  user_info user;
  org_info org;
};

struct key_info {
  std::string fingerprint;
  std::string user_id;
  std::string algorithm;
  std::string created_at;
};

// A registered X.509 certificate and the login key it certifies.
struct certificate_info {
  key_info key;
  std::string fingerprint;  // SHA-256 of the DER certificate, hex
  std::string subject;
  std::string issuer;
  std::string serial;  // hex
  std::string not_before;
  std::string not_after;
};

// The bytes a login signs: "tenderhall-login-v1\n" + challenge_id + "\n" + challenge.
std::string login_message(const login_challenge& ch);

// Signs a login message with the user's private key, returning the raw signature. A callback so
// that the SDK never holds the key.
using login_signer = std::function<std::string(std::string_view message)>;

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  header_list headers;

  // Case-insensitive lookup of a response header; empty when absent.
  std::string header(std::string_view name) const;
};

// Throws the server's error (its code, message and status) unless r.status == expected; an
// answer that is not a JSON error document becomes client.bad_response.
void expect_status(const http_response& r, unsigned expected);

// A synchronous client for one tenderd. Not thread-safe: use one per thread.
class client {
public:
  explicit client(options o);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // One HTTP request; any status is returned as is. Throws error on transport failures.
  http_response request(std::string_view method, std::string_view target,
                        std::string_view body = {},
                        std::string_view content_type = "application/json");
  // The same with extra request headers (Idempotency-Key, If-Match, ...).
  http_response request(std::string_view method, std::string_view target, std::string_view body,
                        std::string_view content_type, const header_list& extra_headers);

  // GET /healthz. Throws error unless the server answers 200 with a health document.
  protocol::health health();
  // GET /readyz. Returns the document for both 200 (ready) and 503 (not ready).
  protocol::readiness readiness();

  // The audit log (protocol/docs/audit-log.md). Each throws error with the server's code
  // (log.not_found, log.bad_range, service.not_ready, ...) unless the server answers 200 with a
  // body of the right shape (client.bad_response otherwise). Nothing here is verified: that is
  // the caller's job, with tender::crypto (see `tender audit verify`).
  //
  // GET /api/v1/log/checkpoint: the latest signed checkpoint note, as is.
  std::string log_checkpoint();
  // GET /api/v1/log/key: the checkpoint signer's verifier key line (without the newline).
  std::string log_key();
  // GET /api/v1/log/events?from=F&limit=L (the server caps limit).
  protocol::audit::event_page log_events(std::uint64_t from, std::uint64_t limit);
  // GET /api/v1/log/events/{seq}
  protocol::audit::event_record log_event(std::uint64_t seq);
  // GET /api/v1/log/proof/inclusion?index=I&size=S
  protocol::audit::inclusion_proof log_inclusion_proof(std::uint64_t index, std::uint64_t size);
  // GET /api/v1/log/proof/consistency?old=A&new=B
  protocol::audit::consistency_proof log_consistency_proof(std::uint64_t old_size,
                                                           std::uint64_t new_size);

  // Sends `Authorization: Bearer <token>` on every later request (empty: none).
  void set_token(std::string token);

  // Identity. Each throws error with the server's code (auth.*, identity.*, request.bad_json)
  // unless the server answers as expected.
  login_challenge auth_challenge(const std::string& user_id);
  // Asks a challenge, signs it and logs in; the returned token is also set on this client.
  session_info login(const std::string& user_id, const std::string& fingerprint,
                     const login_signer& sign);
  void logout();  // revokes the current token
  whoami_info whoami();
  org_info create_org(const std::string& id, const std::string& kind, const std::string& name);
  user_info create_user(const std::string& org_id, const std::string& id, const std::string& name,
                        const std::vector<std::string>& roles);
  key_info add_key(const std::string& user_id, const std::string& public_key_pem);
  // POST /api/v1/users/{id}/certificates: a PEM certificate (Ed25519 or SM2 key) with optional
  // PEM intermediates; the server verifies the chain against its CA roots (identity.bad_certificate
  // with the reason otherwise) and registers the certificate's key as a login key.
  certificate_info add_certificate(const std::string& user_id, const std::string& certificate_pem,
                                   const std::vector<std::string>& chain_pems = {});

  // Admin revocation: every live session of the user (returns how many), or one of its keys by
  // fingerprint (which also ends the user's sessions; returns the sessions ended).
  std::int64_t revoke_sessions(const std::string& user_id);
  std::int64_t revoke_key(const std::string& user_id, const std::string& fingerprint);

  const options& settings() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tender::client
