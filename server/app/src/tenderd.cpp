#include <tender/app/tenderd.hpp>

#include "audit_service.hpp"
#include "crl_directory.hpp"
#include "feed_service.hpp"
#include "hall_service.hpp"
#include "routes.hpp"

#include <tender/core/config.hpp>
#include <tender/core/lifecycle.hpp>
#include <tender/core/log.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/x509.hpp>
#include <tender/db/database.hpp>
#include <tender/db/error.hpp>
#include <tender/db/guarantees.hpp>
#include <tender/db/hall.hpp>
#include <tender/db/identity.hpp>
#include <tender/db/migrations.hpp>
#include <tender/db/scheduler.hpp>
#include <tender/net/server.hpp>
#include <tender/protocol/version.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <random>
#include <thread>

namespace tender::app {
namespace po = boost::program_options;
namespace asio = boost::asio;
using core::log::info;

namespace {

constexpr const char* usage_text =
    R"(tenderd — the tenderhall server (electronic tendering with remote bid opening)

Usage:
  tenderd [serve] [--config FILE] [--port-file FILE]   run the server until SIGINT/SIGTERM
  tenderd migrate [--config FILE]                      apply database migrations and exit
  tenderd config  [--config FILE]                      print the effective configuration
  tenderd keygen  [--config FILE] --out FILE           create an audit checkpoint signing key
  tenderd admin create-admin [--config FILE] --org-name NAME --user-id ID --name NAME
                 --public-key PUB.pem                 bootstrap an administrator (see below)
  tenderd --help | --version

Configuration comes from FILE (key = value lines; deploy/config/tenderd.conf documents every
key) and then from the environment, which wins: key `database.conninfo` is read from
TENDERD_DATABASE_CONNINFO, `listen.port` from TENDERD_LISTEN_PORT, and so on.

The server answers:
  GET /healthz   200 while the process is up
  GET /readyz    200 when the database is reachable and migrated, 503 with the reason otherwise
  GET /ws        WebSocket: greets with {"type":"hello"}, answers {"type":"ping"} with a pong
  GET /api/v1/log/checkpoint | key | events[/{seq}] | proof/inclusion | proof/consistency
                 the tamper-evident audit log (protocol/docs/audit-log.md)
  GET /api/v1/feed?after=SEQ&limit=N&tender=ID   the public change feed, paged by cursor
  GET /ws/feed?after=SEQ&tender=ID   WebSocket: the feed after SEQ, then live (docs/FEED.md)

The opening hall (docs/HALL.md, protocol/docs/hall-protocol.md):
  GET /hall/{tender_id}              the hall as a web page (zh-CN, English toggle)
  GET /ws/halls/{tender_id}          WebSocket: hello, snapshot or resume by seq, live events,
                                     signed actions of hosts, bidders, custodians, supervisors
  GET /api/v1/tenders/{id}/hall      the snapshot as the caller may see it
  GET /api/v1/tenders/{id}/hall/events?after=SEQ&limit=N   the events after SEQ
  PUT /api/v1/tenders/{id}/lots/{lot}/hall/backup *   a bidder's backup file, in the window
  GET /api/v1/tenders/{id}/opening-record[.html]      the signed opening record (开标记录)
  hall.heartbeat_ms and hall.outage_threshold_ms decide when a gap is recorded as an outage of
  the platform; hall.decrypt_threads bids are opened at once, off the I/O threads.

The audit log's checkpoints are signed with the key in audit.signing_key_file, which production
mode requires. `tenderd keygen --out FILE` creates one (mode 0600, named after audit.log_name)
and prints its public verifier key for auditors (`tender audit verify --key ...`).

`tenderd admin create-admin` migrates the database, creates the platform organisation (id
`platform`, kind platform) unless one with that name exists, and an admin user holding the given
public key (PEM SubjectPublicKeyInfo, Ed25519 or SM2), in one transaction recorded in the audit
log with actor "tenderd-admin". The administrator then logs in with `tender login`.

Identity endpoints (Authorization: Bearer <token> where marked *):
  POST /api/v1/auth/challenge {"user_id"}      a single-use challenge (2 minutes)
  POST /api/v1/auth/login {"challenge_id","fingerprint","signature"}   a session token
  POST /api/v1/auth/logout *   GET /api/v1/me *
  POST /api/v1/orgs *admin   POST /api/v1/orgs/{id}/users *admin   POST /api/v1/users/{id}/keys *admin

Timed transitions (a tender's deadline closes it, its opening time moves it to opening) are
fired by the scheduler from the scheduled_jobs table, exactly once across nodes and restarts
(scheduler.enabled, scheduler.poll_interval_ms; docs/OPERATIONS.md, "Scheduler").

Logs are JSON objects, one per line, on stderr. SIGINT or SIGTERM stops the server gracefully
(within shutdown.grace_seconds); a second signal stops it at once.

Exit codes: 0 success, 1 failure, 2 bad command line or configuration.

Examples:
  tenderd --config deploy/config/tenderd.conf
  TENDERD_LISTEN_PORT=0 tenderd --port-file /tmp/port     # any free port, written to /tmp/port
  tenderd migrate --config deploy/config/tenderd.conf
  tenderd keygen --config /etc/tenderhall/tenderd.conf --out /etc/tenderhall/audit-signing.key
  tenderd admin create-admin --config /etc/tenderhall/tenderd.conf --org-name "Tenderhall" \
      --user-id root --name "Platform Admin" --public-key root.pub.pem
)";

struct admin_args {
  std::string subcommand;
  std::string org_name;
  std::string user_id;
  std::string name;
  std::string public_key_file;
};

int admin_command(const core::config& cfg, const admin_args& a) {
  if (a.subcommand != "create-admin") {
    std::cerr << "tenderd: unknown admin command '" << a.subcommand
              << "' (expected create-admin; see --help)\n";
    return 2;
  }
  if (a.org_name.empty() || a.user_id.empty() || a.name.empty() || a.public_key_file.empty()) {
    std::cerr << "tenderd: admin create-admin needs --org-name, --user-id, --name and "
                 "--public-key (see --help)\n";
    return 2;
  }
  std::ifstream in(a.public_key_file);
  if (!in) {
    std::cerr << "tenderd: cannot read the public key file '" << a.public_key_file << "'\n";
    return 1;
  }
  const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    db::migrate(cfg.database_conninfo);
    const auto r = db::bootstrap_admin(cfg.database_conninfo, a.org_name, a.user_id, a.name, pem);
    std::cout << (r.org_created ? "created" : "reused") << " organisation " << r.org.id << " ("
              << r.org.name << ")\n"
              << "created admin user " << r.admin.id << " with " << r.key.algorithm << " key "
              << r.key.fingerprint << "\n";
    return 0;
  } catch (const db::error& e) {
    std::cerr << "tenderd: create-admin failed [" << e.code() << "]: " << e.what() << "\n";
    return 1;
  }
}

// identity.ca_roots_file: the roots user certificates must chain to. An empty store when unset.
std::shared_ptr<const crypto::x509::trust_store> load_ca_roots(const core::config& cfg) {
  auto roots = std::make_shared<crypto::x509::trust_store>();
  if (cfg.identity_ca_roots_file.empty()) return roots;
  std::ifstream in(cfg.identity_ca_roots_file, std::ios::binary);
  if (!in) {
    throw startup_error("cannot read identity.ca_roots_file '" + cfg.identity_ca_roots_file + "'");
  }
  const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    roots->add_pem_bundle(pem);
  } catch (const crypto::error& e) {
    throw startup_error("identity.ca_roots_file '" + cfg.identity_ca_roots_file +
                        "' is not a PEM bundle of certificates: " + e.what());
  }
  return roots;
}

// identity.crl_dir: the CA revocation lists, each signed by one of `roots`. No lists when unset.
db::revocation_source load_crls(const core::config& cfg,
                                std::shared_ptr<const crypto::x509::trust_store> roots) {
  if (cfg.identity_crl_dir.empty()) return {};
  try {
    return crl_directory::source(
        std::make_shared<crl_directory>(cfg.identity_crl_dir, std::move(roots)));
  } catch (const std::exception& e) {
    throw startup_error(e.what());
  }
}

std::string make_node_id() {
  // An identifier, not a secret: std::random_device is enough.
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

void write_port_file(const std::string& path, std::uint16_t port) {
  // Written whole then renamed, so a reader never sees a partial number.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) throw std::runtime_error("cannot write port file '" + path + "'");
  }
  std::filesystem::rename(tmp, path);
}

int serve(const core::config& cfg, const std::string& port_file, audit_key key,
          std::shared_ptr<const crypto::x509::trust_store> ca_roots,
          db::revocation_source revocations) {
  const std::string node_id = make_node_id();
  info("starting", {{"service", "tenderd"},
                    {"version", std::string(protocol::product_version())},
                    {"node_id", node_id},
                    {"pid", static_cast<std::int64_t>(getpid())}});
  {
    boost::json::object described;
    for (const auto& [k, v] : core::describe(cfg))
      described[k] = v;
    info("configuration", std::move(described));
  }
  if (key.generated) {
    core::log::warn(
        "no audit.signing_key_file: generated a throwaway audit signing key for this process "
        "(development mode only); checkpoints signed now will not verify after a restart",
        {{"origin", cfg.audit_origin()}, {"verifier_key", key.verifier_key}});
  } else {
    info("audit signing key loaded", {{"origin", cfg.audit_origin()},
                                      {"verifier_key", key.verifier_key},
                                      {"file", cfg.audit_signing_key_file}});
  }
  if (cfg.mode == "production" && !cfg.tls_enabled() && cfg.listen_address != "127.0.0.1" &&
      cfg.listen_address != "::1") {
    core::log::warn("plain HTTP on a non-loopback address: run behind a TLS-terminating proxy",
                    {{"address", cfg.listen_address}});
  }

  asio::io_context ioc(static_cast<int>(cfg.io_threads));
  auto work = asio::make_work_guard(ioc);
  // Registered first so that a signal arriving during startup is queued, not fatal.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  core::lifecycle life;

  // 1. database: connects, migrates and keeps checking in the background; never blocks startup.
  db::database::options dbo;
  dbo.conninfo = cfg.database_conninfo;
  dbo.pool_size = cfg.database_pool_size;
  dbo.priority_pool_size = cfg.database_priority_pool_size;
  dbo.retry_interval = cfg.database_retry_interval;
  dbo.node_id = node_id;
  dbo.version = std::string(protocol::product_version());
  db::database database(ioc.get_executor(), dbo);
  database.start();
  life.started("database", [&](auto deadline) { database.stop(deadline); });

  // 2. audit log: records this node's start once the database is ready, signs checkpoints.
  audit_service::options ao;
  ao.node_id = node_id;
  ao.version = std::string(protocol::product_version());
  ao.checkpoint_interval = cfg.audit_checkpoint_interval;
  ao.retry_interval = cfg.database_retry_interval;
  const auto checkpoint_signer = key.signer;
  audit_service audit(ioc.get_executor(), database, std::move(key), cfg.audit_origin(), ao);
  audit.start();
  life.started("audit", [&](auto deadline) { audit.stop(deadline); });

  // 3. scheduler: fires due transitions (deadline, opening) once the database is ready.
  db::scheduler::options sco;
  sco.poll_interval = cfg.scheduler_poll_interval;
  sco.origin = cfg.audit_origin();
  sco.signer = checkpoint_signer;
  sco.seal_bids = true;
  sco.ready = [&database] { return database.readiness().ready; };
  db::scheduler scheduler(ioc.get_executor(), database.connections(), std::move(sco));
  // Before a tender opens, every attached guarantee is asked of its issuer again: by the issuer
  // gateway, before the opening's transaction and holding nothing (the job's preparer).
  const auto issuers = make_guarantee_lookup(cfg.guarantee_status_timeout);
  auto recheck = db::with_guarantee_recheck(
      db::tender_opening_handler(db::scheduler::options{}.actor), issuers);
  scheduler.set_handler("tender.opening", std::move(recheck.handler));
  scheduler.set_preparer("tender.opening", std::move(recheck.preparer));
  // The opening hall's state machine; its clock steps are scheduler jobs too.
  db::hall::options hallo;
  hallo.signer = checkpoint_signer;
  hallo.origin = cfg.audit_origin();
  hallo.outage_threshold = cfg.hall_outage_threshold;
  // The host's check_guarantees asks the issuers again (live status).
  hallo.live_status = issuers;
  hallo.priority = &database.priority();
  hallo.revocations = revocations;
  db::hall hall(database.connections(), hallo);
  scheduler.set_handler("hall.window_close", db::hall_window_close_handler(
                                                 db::scheduler::options{}.actor,
                                                 hallo.outage_threshold, cfg.hall_decrypt_timeout));
  scheduler.set_handler("hall.confirm_close",
                        db::hall_confirm_close_handler(db::scheduler::options{}.actor, hallo));
  if (cfg.scheduler_enabled) {
    scheduler.start();
    life.started("scheduler", [&](auto deadline) { scheduler.stop(deadline); });
  } else {
    info("scheduler disabled (scheduler.enabled = false): this node fires no timed transitions");
  }

  // 4. The public change feed: one LISTEN connection of its own, and the WebSocket followers.
  feed_service::options fo;
  fo.conninfo = cfg.database_conninfo;
  fo.retry_interval = cfg.database_retry_interval;
  fo.queue_high_water = std::max<std::size_t>(1, cfg.limits_websocket_queue_messages / 2);
  feed_service feed(ioc.get_executor(), database, fo);
  feed.start();
  life.started("feed", [&](auto deadline) { feed.stop(deadline); });

  // 5. The opening hall: one LISTEN connection, a hub per hall, the decryption workers and the
  // heartbeat. Stopped before the database (lifecycle stops in reverse order).
  hall_service::options ho;
  ho.conninfo = cfg.database_conninfo;
  ho.node_id = node_id;
  ho.data_dir = cfg.storage_data_dir;
  ho.retry_interval = cfg.database_retry_interval;
  ho.queue_high_water = std::max<std::size_t>(1, cfg.limits_websocket_queue_messages / 2);
  ho.heartbeat = cfg.hall_heartbeat;
  ho.decrypt_threads = cfg.hall_decrypt_threads;
  ho.hub_idle = cfg.hall_hub_idle;
  ho.queue_high_water_bytes = std::max<std::size_t>(1, cfg.limits_websocket_queue_bytes / 2);
  ho.hello_timeout = cfg.hall_hello_timeout;
  ho.connections_per_user = cfg.hall_connections_per_user;
  ho.public_connections = cfg.limits_connections > cfg.hall_reserved_connections
                              ? cfg.limits_connections - cfg.hall_reserved_connections
                              : 0;
  ho.ids_per_connection = cfg.hall_ids_per_connection;
  ho.act_rate = cfg.hall_act_rate;
  ho.act_burst = cfg.hall_act_burst;
  hall_service halls(ioc.get_executor(), database, hall, ho);
  halls.start();
  life.started("hall", [&](auto deadline) { halls.stop(deadline); });

  // 6. HTTP + WebSocket
  service_info si{node_id, std::string(protocol::product_version()),
                  std::chrono::steady_clock::now()};
  net::server_options so;
  so.address = cfg.listen_address;
  so.port = cfg.listen_port;
  so.tls_certificate_file = cfg.tls_certificate;
  so.tls_private_key_file = cfg.tls_private_key;
  so.header_limit = cfg.limits_header_bytes;
  so.max_connections = cfg.limits_connections;
  so.max_connections_per_address = cfg.limits_connections_per_address;
  so.websocket_queue_bytes = cfg.limits_websocket_queue_bytes;
  so.websocket_message_limit = cfg.limits_websocket_message_bytes;
  so.websocket_queue_limit = cfg.limits_websocket_queue_messages;
  so.read_timeout = cfg.limits_read_timeout;
  so.idle_timeout = cfg.limits_idle_timeout;
  bid_settings bs;
  bs.data_dir = cfg.storage_data_dir;
  bs.max_upload_bytes = cfg.submission_max_upload_bytes;
  bs.bidder_quota_bytes = cfg.submission_bidder_quota_bytes;
  bs.tender_quota_bytes = cfg.submission_tender_quota_bytes;
  bs.hold_verification_while = cfg.submission_hold_verification_while;
  bs.io = ioc.get_executor();
  bs.session_recheck = cfg.hall_session_recheck;
  net::http_server server(ioc, so,
                          make_routes(si, database, audit, feed, cfg.limits_body_bytes, ca_roots,
                                      bs, cfg.guarantee_status_timeout, &halls,
                                      cfg.limits_challenges_per_minute, revocations));

  // I/O threads run from here on; the main thread only waits for a signal and then shuts down.
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < cfg.io_threads; ++i) {
    threads.emplace_back([&ioc] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          core::log::error("uncaught exception on an I/O thread", {{"error", e.what()}});
        }
      }
    });
  }
  auto join_all = [&] {
    work.reset();
    ioc.stop();
    for (auto& t : threads)
      t.join();
  };

  try {
    server.start();
  } catch (const std::exception& e) {
    core::log::error("cannot start", {{"error", e.what()}});
    life.stop_all(std::chrono::steady_clock::now() + cfg.shutdown_grace);
    join_all();
    return 1;
  }
  life.started("http", [&](auto deadline) { server.stop(deadline); });
  if (!port_file.empty()) write_port_file(port_file, server.port());
  const std::string scheme = cfg.tls_enabled() ? "https" : "http";
  info("listening",
       {{"address", cfg.listen_address},
        {"port", server.port()},
        {"tls", cfg.tls_enabled()},
        {"url", scheme + "://" + cfg.listen_address + ":" + std::to_string(server.port())}});

  // 5. signals: the first one starts a graceful shutdown, a second one ends the process at once.
  std::promise<int> stop_requested;
  std::atomic<int> received{0};
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (received.fetch_add(1) == 0) {
      stop_requested.set_value(sig);
      signals.async_wait(on_signal);
    } else {
      core::log::error("second signal: stopping at once", {{"signal", sig}});
      std::_Exit(130);
    }
  };
  signals.async_wait(on_signal);

  const int sig = stop_requested.get_future().get();
  const auto deadline = std::chrono::steady_clock::now() + cfg.shutdown_grace;
  info("shutting down", {{"signal", sig}, {"grace_seconds", cfg.shutdown_grace.count()}});

  // A stop that overruns its deadline must not hang the process.
  std::promise<void> finished;
  std::thread watchdog([fut = finished.get_future(), deadline]() mutable {
    if (fut.wait_until(deadline + std::chrono::seconds(2)) != std::future_status::ready) {
      core::log::error("shutdown overran its deadline: exiting");
      std::_Exit(1);
    }
  });
  life.stop_all(deadline);
  join_all();
  finished.set_value();
  watchdog.join();
  info("exited", {{"service", "tenderd"}});
  return 0;
}

int migrate_only(const core::config& cfg) {
  try {
    const auto r = db::migrate(cfg.database_conninfo);
    std::cout << "schema version " << r.from_version << " -> " << r.to_version;
    if (r.applied.empty()) std::cout << " (nothing to apply)";
    std::cout << "\n";
    for (const auto& name : r.applied)
      std::cout << "  applied " << name << "\n";
    return 0;
  } catch (const db::error& e) {
    std::cerr << "tenderd: migrate failed [" << e.code() << "]: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int tenderd_main(int argc, char** argv) {
  std::string config_path;
  std::string port_file;
  std::string command = "serve";
  std::string out_path;
  admin_args admin;
  po::options_description named("Options");
  named.add_options()("help,h", "show this help")("version", "print the version")(
      "config,c", po::value(&config_path), "configuration file")(
      "port-file", po::value(&port_file), "write the listening port to this file once bound")(
      "out", po::value(&out_path), "keygen: where to write the new signing key")(
      "org-name", po::value(&admin.org_name), "admin create-admin: the platform organisation")(
      "user-id", po::value(&admin.user_id), "admin create-admin: the admin's user id")(
      "name", po::value(&admin.name), "admin create-admin: the admin's display name")(
      "public-key", po::value(&admin.public_key_file), "admin create-admin: PEM public key file");
  po::options_description all;
  all.add(named).add_options()("command", po::value(&command))("subcommand",
                                                               po::value(&admin.subcommand));
  po::positional_options_description positional;
  positional.add("command", 1).add("subcommand", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tenderd: " << e.what() << "\n(see tenderd --help)\n";
    return 2;
  }
  if (vm.count("help") != 0u) {
    std::cout << usage_text;
    return 0;
  }
  if (vm.count("version") != 0u) {
    std::cout << "tenderd " << protocol::product_version() << "\n";
    return 0;
  }
  if (command != "serve" && command != "migrate" && command != "config" && command != "keygen" &&
      command != "admin") {
    std::cerr << "tenderd: unknown command '" << command
              << "' (expected serve, migrate, config, keygen or admin; see --help)\n";
    return 2;
  }
  if (command != "admin" && !admin.subcommand.empty()) {
    std::cerr << "tenderd: unexpected argument '" << admin.subcommand << "' (see --help)\n";
    return 2;
  }
  if ((command == "keygen") != !out_path.empty()) {
    std::cerr << "tenderd: --out FILE goes with keygen, and keygen needs it (see --help)\n";
    return 2;
  }
  core::config cfg;
  try {
    cfg = core::load_config(config_path.empty() ? std::nullopt : std::optional(config_path),
                            core::process_environment());
  } catch (const core::config_error& e) {
    std::cerr << "tenderd: configuration error: " << e.what() << "\n";
    return 2;
  }
  core::log::set_level(core::log::parse_level(cfg.log_level));
  try {
    crypto::init();
  } catch (const std::exception& e) {
    std::cerr << "tenderd: " << e.what() << "\n";
    return 1;
  }
  if (command == "config") {
    for (const auto& [k, v] : core::describe(cfg))
      std::cout << k << " = " << v << "\n";
    return 0;
  }
  if (command == "migrate") return migrate_only(cfg);
  if (command == "admin") return admin_command(cfg, admin);
  if (command == "keygen") {
    try {
      const std::string vkey = generate_audit_key_file(out_path, cfg.audit_origin());
      std::cout << vkey << "\n";
      std::cerr << "tenderd: wrote the audit signing key to " << out_path
                << " (keep it secret; set audit.signing_key_file to it).\n"
                << "The line above is its public verifier key: give it to auditors.\n";
      return 0;
    } catch (const startup_error& e) {
      std::cerr << "tenderd: " << e.what() << "\n";
      return 1;
    }
  }
  audit_key key;
  std::shared_ptr<const crypto::x509::trust_store> ca_roots;
  db::revocation_source revocations;
  try {
    key = load_audit_key(cfg);
    ca_roots = load_ca_roots(cfg);
    revocations = load_crls(cfg, ca_roots);
  } catch (const startup_error& e) {
    std::cerr << "tenderd: configuration error: " << e.what() << "\n";
    return 2;
  }
  // Writes to a closed socket must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return serve(cfg, port_file, std::move(key), std::move(ca_roots), std::move(revocations));
  } catch (const std::exception& e) {
    core::log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace tender::app
