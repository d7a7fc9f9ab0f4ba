#pragma once

#include <tender/client/client.hpp>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/variables_map.hpp>

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace tender::cli {

// Exit codes shared by every command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_not_ready = 3;

// What every command gets: the output streams and the global options.
struct context {
  std::ostream& out;
  std::ostream& err;
  std::string server;     // --server or TENDER_SERVER
  std::string ca_file;    // --ca-file
  bool insecure = false;  // --insecure
  bool json = false;      // --json: machine-readable output

  client::client make_client() const;
};

// One command. `name` may have several words ("escrow setup"): the longest match wins.
struct command {
  std::string name;
  std::string summary;  // one line for `tender --help`
  std::function<int(context&, const std::vector<std::string>& args)> run;
};

// Parses a command's own arguments. Prints `usage` and the options for --help (returns nullopt
// with exit code 0 in `exit_code`), or a clear message for bad usage (nullopt, exit code 2).
std::optional<boost::program_options::variables_map> parse_command_args(
    context& ctx, const std::vector<std::string>& args, const std::string& usage,
    boost::program_options::options_description options,
    const boost::program_options::positional_options_description& positional, int& exit_code);

// Each group of commands lives in its own cmd_*.cpp and appends itself here.
void add_status_commands(std::vector<command>& out);

std::vector<command> all_commands();

}  // namespace tender::cli
