#include <tender/cli/cli.hpp>

#include "command.hpp"
#include "io.hpp"

#include <tender/protocol/version.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace tender::cli {
namespace po = boost::program_options;

namespace {

constexpr const char* global_usage =
    R"(tender — the tenderhall command line, for bidders, hosts, custodians and supervisors

Usage:
  tender [global options] <command> [command options]
  tender <command> --help        what a command does, its options and examples

Global options:
  --server URL     tenderd to talk to (default: $TENDER_SERVER or http://127.0.0.1:8080)
  --ca-file FILE   PEM certificates to trust for https:// servers
  --insecure       https:// without verifying the server certificate (testing only)
  --json           machine-readable output
  --help, -h       this help
  --version        print the version

Exit codes: 0 success, 1 failure, 2 bad usage, 3 server up but not ready.

Commands:
)";

}  // namespace

client::client context::make_client() const {
  client::options o;
  o.server = server;
  o.ca_file = ca_file;
  o.insecure = insecure;
  return client::client(o);
}

std::optional<po::variables_map> parse_command_args(
    context& ctx, const std::vector<std::string>& args, const std::string& usage,
    po::options_description options, const po::positional_options_description& positional,
    int& exit_code) {
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help") != 0u) {
      ctx.out << usage << "\n" << options;
      exit_code = exit_ok;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    ctx.err << "tender: " << e.what() << "\n(see --help)\n";
    exit_code = exit_usage;
    return std::nullopt;
  }
  return vm;
}

int usage_error(context& ctx, std::string_view message) {
  ctx.err << "tender: " << message << "\n(see --help)\n";
  return exit_usage;
}

std::filesystem::path session_token_path(const boost::program_options::variables_map& vm) {
  if (vm.count("token-file") != 0u) return vm["token-file"].as<std::string>();
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0')
    throw error(codes::io, "HOME is not set; pass --token-file");
  return std::filesystem::path(home) / ".config" / "tenderhall" / "token";
}

void use_session_token(client::client& c, const boost::program_options::variables_map& vm,
                       bool required) {
  const auto path = session_token_path(vm);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    c.set_token(std::string(trim(read_file(path, 4096))));
  } else if (required) {
    throw error(codes::io, "no session token at " + path.string() + "; run tender login first");
  }
}

std::vector<command> all_commands() {
  std::vector<command> all;
  add_status_commands(all);
  add_escrow_commands(all);
  add_escrow_ceremony_commands(all);
  add_transparency_commands(all);
  add_draw_commands(all);
  add_audit_commands(all);
  add_sealed_commands(all);
  add_identity_commands(all);
  add_document_commands(all);
  add_guarantee_commands(all);
  add_tender_commands(all);
  add_feed_commands(all);
  add_bid_commands(all);
  add_hall_commands(all);
  add_record_commands(all);
  add_demo_commands(all);
  std::sort(all.begin(), all.end(),
            [](const command& a, const command& b) { return a.name < b.name; });
  return all;
}

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  context ctx{out, err, {}, {}, false, false};
  if (const char* env = std::getenv("TENDER_SERVER"); env != nullptr && *env != '\0') {
    ctx.server = env;
  } else {
    ctx.server = "http://127.0.0.1:8080";
  }
  const auto commands = all_commands();
  auto print_help = [&] {
    out << global_usage;
    std::size_t width = 0;
    for (const auto& c : commands)
      width = std::max(width, c.name.size());
    for (const auto& c : commands) {
      out << "  " << c.name << std::string(width + 3 - c.name.size(), ' ') << c.summary << "\n";
    }
  };

  std::vector<std::string> rest;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        err << "tender: " << name << " needs a value (see tender --help)\n";
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      print_help();
      return exit_ok;
    } else if (a == "--version") {
      out << "tender " << protocol::product_version() << "\n";
      return exit_ok;
    } else if (a == "--server") {
      auto v = value("--server");
      if (!v) return exit_usage;
      ctx.server = *v;
    } else if (a.rfind("--server=", 0) == 0) {
      ctx.server = a.substr(9);
    } else if (a == "--ca-file") {
      auto v = value("--ca-file");
      if (!v) return exit_usage;
      ctx.ca_file = *v;
    } else if (a == "--insecure") {
      ctx.insecure = true;
    } else if (a == "--json") {
      ctx.json = true;
    } else if (!a.empty() && a[0] == '-') {
      err << "tender: unknown global option '" << a << "' (see tender --help)\n";
      return exit_usage;
    } else {
      break;
    }
  }
  for (; i < argc; ++i)
    rest.emplace_back(argv[i]);
  if (rest.empty()) {
    print_help();
    return exit_usage;
  }
  if (rest[0] == "help") {
    if (rest.size() == 1) {
      print_help();
      return exit_ok;
    }
    rest.erase(rest.begin());
    rest.emplace_back("--help");
  }
  // The longest command name that matches the leading words.
  const command* chosen = nullptr;
  std::size_t chosen_words = 0;
  for (const auto& c : commands) {
    std::istringstream words(c.name);
    std::string w;
    std::size_t n = 0;
    bool ok = true;
    while (words >> w) {
      if (n >= rest.size() || rest[n] != w) {
        ok = false;
        break;
      }
      ++n;
    }
    if (ok && n > chosen_words) {
      chosen = &c;
      chosen_words = n;
    }
  }
  if (chosen == nullptr) {
    err << "tender: unknown command '" << rest[0] << "' (see tender --help for the list)\n";
    return exit_usage;
  }
  const std::vector<std::string> args(rest.begin() + static_cast<std::ptrdiff_t>(chosen_words),
                                      rest.end());
  try {
    return chosen->run(ctx, args);
  } catch (const protocol::coded_error& e) {
    // client::error, crypto::error and cli::error alike: the message and its stable code.
    err << "tender: " << e.what() << " [" << e.code() << "]\n";
    return exit_failure;
  } catch (const std::exception& e) {
    err << "tender: " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace tender::cli
