#include "command.hpp"

#include <boost/json.hpp>

#include <iomanip>

namespace tender::cli {
namespace po = boost::program_options;

namespace {

constexpr const char* status_usage =
    R"(tender status — is the server up, which version, is its database ready?

Usage:
  tender [--server URL] status [--json]

Asks GET /healthz and GET /readyz and prints what they say. Exit code 0 when the server is up
and ready, 3 when it is up but not ready (the reason is printed), 1 when it cannot be reached.

Examples:
  tender --server http://127.0.0.1:8080 status
  tender --server https://hall.example.org --ca-file ca.pem status --json
)";

int status(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("json", po::bool_switch(), "machine-readable output");
  int code = 0;
  auto vm = parse_command_args(ctx, args, status_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();

  auto c = ctx.make_client();
  const auto h = c.health();
  const auto r = c.readiness();
  if (as_json) {
    ctx.out << boost::json::serialize(
                   boost::json::object{{"server", ctx.server},
                                       {"status", h.status},
                                       {"version", h.version},
                                       {"node_id", h.node_id},
                                       {"uptime_seconds", h.uptime_seconds},
                                       {"ready", r.ready},
                                       {"reason", r.reason},
                                       {"database", r.database},
                                       {"schema_version", r.schema_version},
                                       {"expected_schema_version", r.expected_schema_version}})
            << "\n";
  } else {
    ctx.out << "server:   " << ctx.server << "\n"
            << "health:   " << h.status << " (" << h.service << " " << h.version << ", node "
            << h.node_id << ", up " << std::fixed << std::setprecision(0) << h.uptime_seconds
            << " s)\n"
            << "ready:    " << (r.ready ? "yes" : "no") << "\n"
            << "database: " << r.database << ", schema " << r.schema_version << "/"
            << r.expected_schema_version << "\n";
    if (!r.ready) ctx.out << "reason:   " << r.reason << "\n";
  }
  return r.ready ? exit_ok : exit_not_ready;
}

}  // namespace

void add_status_commands(std::vector<command>& out) {
  out.push_back({"status", "show the server's health, version and database readiness", status});
}

}  // namespace tender::cli
