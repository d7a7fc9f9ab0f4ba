#pragma once

#include <tender/client/client.hpp>
#include <tender/protocol/coded_error.hpp>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/variables_map.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tender::cli {

// Exit codes shared by every command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_not_ready = 3;

// A failure of the command line itself (a file that cannot be read or written, an input file that
// is not in the expected form, a draw record that does not match). Printed like the other errors,
// `tender: <message> [<code>]`, with exit code 1. Crypto failures keep their own
// tender::crypto::error codes; these are the CLI's.
class error : public protocol::coded_error {
public:
  using coded_error::coded_error;
};

// Stable codes of cli::error.
namespace codes {
inline constexpr const char* io = "cli.io";                    // cannot read or write a file
inline constexpr const char* file_exists = "cli.file_exists";  // output exists, no --force
inline constexpr const char* bad_input = "cli.bad_input";  // an input file or value is malformed
inline constexpr const char* bad_draw_record = "cli.bad_draw_record";  // not a draw record
inline constexpr const char* draw_mismatch = "cli.draw_mismatch";  // record disagrees with inputs
// Verdicts of `tender audit verify` (besides note.*, checkpoint.* and client.* codes):
inline constexpr const char* audit_event_mismatch = "audit.event_mismatch";  // fields != leaf
inline constexpr const char* audit_missing_events = "audit.missing_events";  // gap or short log
inline constexpr const char* audit_root_mismatch = "audit.root_mismatch";    // events != checkpoint
inline constexpr const char* audit_inclusion_failed = "audit.inclusion_failed";
inline constexpr const char* audit_consistency_failed =
    "audit.consistency_failed";                                      // past rewritten
inline constexpr const char* audit_log_shrunk = "audit.log_shrunk";  // smaller than remembered
inline constexpr const char* audit_bad_state = "audit.bad_state";    // --state file unusable
// A sealed file whose escrow stanza is for another escrow key than the setup given.
inline constexpr const char* escrow_mismatch = "cli.escrow_mismatch";
}  // namespace codes

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

// Prints `tender: <message>` and a pointer to --help for a usage mistake that
// boost::program_options cannot catch (a missing or conflicting option); returns exit_usage.
int usage_error(context& ctx, std::string_view message);

// The session token file: --token-file when given, else ~/.config/tenderhall/token (codes::io
// when HOME is not set).
std::filesystem::path session_token_path(const boost::program_options::variables_map& vm);
// Sets the saved session token on `c` when the file exists; without it, codes::io when `required`
// (reading published tenders needs no login).
void use_session_token(client::client& c, const boost::program_options::variables_map& vm,
                       bool required);

// Each group of commands lives in its own cmd_*.cpp and appends itself here.
void add_status_commands(std::vector<command>& out);
void add_escrow_commands(std::vector<command>& out);  // escrow setup|verify-share|share|combine
void add_escrow_ceremony_commands(std::vector<command>& out);  // escrow ceremony start|status|join
void add_transparency_commands(std::vector<command>& out);     // verify-proof, checkpoint verify
void add_draw_commands(std::vector<command>& out);             // draw, verify-draw
void add_audit_commands(std::vector<command>& out);            // audit verify
// keygen, seal, inspect, verify, open, backup-check
void add_sealed_commands(std::vector<command>& out);
// login, whoami, logout, admin org create, admin user create, admin key add
void add_identity_commands(std::vector<command>& out);
// document upload|list|download|downloads|receipts, ask, answer, questions, notifications
void add_document_commands(std::vector<command>& out);
// tender create|show|list|update|publish|amend|cancel|suspend|resume
void add_tender_commands(std::vector<command>& out);
// feed list, feed follow
void add_feed_commands(std::vector<command>& out);
// upload, withdraw, bid show, rehearse, verify-receipt, verify-seal
void add_bid_commands(std::vector<command>& out);
// guarantee attach|apply|status|issuers|issuer-register, bond record|list
void add_guarantee_commands(std::vector<command>& out);

// hall watch|sign-in|decrypt|backup|confirm|reveal|commit|... (the opening hall); record verify
void add_hall_commands(std::vector<command>& out);
void add_record_commands(std::vector<command>& out);
// demo (the whole story of an opening, README command 1)
void add_demo_commands(std::vector<command>& out);

std::vector<command> all_commands();

}  // namespace tender::cli
