#pragma once

#include <tender/crypto/x509.hpp>
#include <tender/db/certificates.hpp>
#include <tender/db/error.hpp>
#include <tender/db/guarantees.hpp>
#include <tender/net/http.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tender::db {
class database;
}

namespace tender::app {

class audit_service;
class feed_service;
class hall_service;

struct service_info {
  std::string node_id;
  std::string version;
  std::chrono::steady_clock::time_point started;
};

// Bid submission settings (storage.*, submission.* of the configuration).
struct bid_settings {
  std::string data_dir = "var/data";  // blobs, partial uploads
  std::uint64_t max_upload_bytes = 8ull << 30;
  std::uint64_t bidder_quota_bytes = 16ull << 30;
  std::uint64_t tender_quota_bytes = 32ull << 30;
  // submission.hold_verification_while (drills and tests): verification waits while it exists.
  std::string hold_verification_while;
  // Where garbage collection of partial files and unreferenced blobs runs (at start and every
  // gc_interval); none when unset.
  std::optional<boost::asio::any_io_executor> io;
  std::chrono::seconds gc_interval{300};
  // How often the hall re-checks the sessions its WebSocket connections joined with (each act is
  // checked as well); runs on `io`.
  std::chrono::milliseconds session_recheck{15000};
  // The CA revocation lists (identity.crl_dir) a bid signer's certificate is checked against.
  db::revocation_source revocations;
};

// Every HTTP and WebSocket endpoint of tenderd, registered on one router.
// `ca_roots`: the roots user certificates must chain to (identity.ca_roots_file); null or empty:
// every certificate is refused.
std::shared_ptr<net::router> make_routes(
    const service_info& info, db::database& database, audit_service& audit, feed_service& feed,
    std::size_t default_body_limit,
    std::shared_ptr<const crypto::x509::trust_store> ca_roots = nullptr,
    const bid_settings& bids = {},
    std::chrono::milliseconds guarantee_status_timeout = std::chrono::milliseconds(5000),
    hall_service* hall = nullptr, unsigned challenges_per_minute = 60,
    db::revocation_source revocations = {});

// /api/v1/log/*: the audit log's checkpoint, key, events and proofs (routes_log.cpp).
void add_log_routes(net::router& r, db::database& database, audit_service& audit);

// /api/v1/auth/*, /api/v1/me, and the admin identity endpoints (routes_auth.cpp).
// `challenges_per_minute`: login challenges one remote address may ask for a minute.
// `revocations`: the CA revocation lists checked at registration and at every login.
void add_identity_routes(net::router& r, db::database& database,
                         std::shared_ptr<const crypto::x509::trust_store> ca_roots,
                         unsigned challenges_per_minute = 60,
                         db::revocation_source revocations = {});

// Tender documents, downloads, questions and notifications (routes_documents.cpp).
void add_document_routes(net::router& r, db::database& database);

// /api/v1/tenders: create, read, list, update, publish, amend, cancel, suspend, resume
// (routes_tenders.cpp).
void add_tender_routes(net::router& r, db::database& database, audit_service& audit);
// The 422 of a db::rule_violation (tender.rule_violation with error.violations), nullopt for any
// other error: the db_error_map of the tender and ceremony routes.
std::optional<net::response> rule_violation_error(const db::error& e);
// The custodians' escrow key ceremony (routes_escrow.cpp).
void add_escrow_routes(net::router& r, db::database& database);

// tus uploads of sealed bids, receipts, the caller's bid, withdrawal, rehearsal, the list of bids
// and the deadline seal (routes_bids.cpp).
void add_bid_routes(net::router& r, db::database& database, audit_service& audit,
                    const bid_settings& settings);

// /api/v1/feed and /ws/feed: the public change feed (routes_feed.cpp).
void add_feed_routes(net::router& r, db::database& database, feed_service& feed);

// The opening hall: /ws/halls/{tender_id}, the hall snapshot and events, the backup upload and
// the opening record (routes_hall.cpp).
void add_hall_routes(net::router& r, db::database& database, hall_service& hall,
                     const bid_settings& settings);
// GET /hall/{id}: the opening hall's web page (routes_web.cpp).
void add_web_routes(net::router& r);

// Guarantee issuers, electronic guarantees (open and integrated flows), issuer callbacks and
// cash bonds (routes_guarantees.cpp). `status_timeout`: guarantee.status_timeout_ms.
void add_guarantee_routes(net::router& r, db::database& database,
                          std::chrono::milliseconds status_timeout);

// The live status query to a guarantee issuer (blocking, with `timeout`), for the re-check of
// every attached guarantee before the opening (db::with_guarantee_recheck).
db::guarantee_status_query make_guarantee_status_query(std::chrono::milliseconds timeout);
// The issuer gateway: asks issuers for live statuses on threads of its own (never a database
// connection's, an I/O thread or inside a transaction), each query bounded by `timeout`, an
// issuer that fails named and not asked again, the whole check bounded by three timeouts.
db::guarantee_lookup make_guarantee_lookup(std::chrono::milliseconds timeout);

}  // namespace tender::app
