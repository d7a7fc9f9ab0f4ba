// tender escrow ceremony start | status | join — the custodians' escrow key ceremony through the
// server (protocol/docs/threshold-escrow.md §6.1), the default way to make a tender's escrow key.

#include "command.hpp"
#include "io.hpp"

#include <tender/client/escrow_ceremony.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace cer = client::ceremony;

namespace {

constexpr const char* start_usage =
    R"(tender escrow ceremony start — start the custodians' key ceremony for a draft (its owner)

Usage:
  tender escrow ceremony start --tender T [--group ristretto255|sm2] [--token-file F] [--json]

The draft's escrow must name its custodians and threshold ("escrow": {"threshold": 2,
"custodians": [...]}, see `tender tender create --help`); they must pass the rule pack's custody
rules (independent organisations of allowed kinds, none of them yours). The ceremony then waits
for each custodian to run `tender escrow ceremony join`. When all have confirmed, the joint key
is the tender's escrow setup and the tender can be published. Nobody, not even the server or the
tenderer, ever knows the whole key.

Starting again replaces an unfinished ceremony and removes the setup the tender had. --group
follows the bids' cipher suite: ristretto255 (modern, default) or sm2 (国密).

Examples:
  tender escrow ceremony start --tender t-0123456789abcdef --group sm2
)";

constexpr const char* status_usage =
    R"(tender escrow ceremony status — where a tender's key ceremony stands

Usage:
  tender escrow ceremony status --tender T [--token-file F] [--json]

Shows the round (keys, dealings, confirmations, done, failed, superseded) and what each custodian
has sent. The tender's owner, its custodians, supervisors and admins may look.
)";

constexpr const char* join_usage =
    R"(tender escrow ceremony join — take part in a key ceremony as a custodian, to the end

Usage:
  tender escrow ceremony join --tender T --secret FILE --out SHARE.json [--index I]
                              [--poll SECONDS] [--timeout SECONDS] [--force]
                              [--token-file F] [--json]

Runs your side of every round, waiting for the other custodians in between:
  1. makes a transport key for this ceremony, saves it to --secret (mode 0600; keep it until the
     ceremony is done) and sends its public half;
  2. deals: draws your own random polynomial and sends its commitments with one share per
     custodian, each sealed for that custodian's transport key (the server cannot read them);
  3. opens the shares dealt to you and checks each against its dealer's commitments. All good:
     writes your joint share to --out (mode 0600) and sends a proof that you hold it. A bad one:
     sends a complaint that reveals that share so that anyone can check it; the ceremony fails,
     naming the dealer (exit code 1, ceremony.dealer_at_fault).
Run it again with the same --secret after an interruption: it goes on where it stopped.
--index picks your custodian index when your organisation holds several (it never should).
The share file is the one `tender escrow share` and `tender hall share` use at the opening.

Exit codes: 0 done; 1 failed (a refused message, a failed or superseded ceremony); 3 --timeout
passed while waiting for others.

Examples:
  tender escrow ceremony join --tender t-0123456789abcdef --secret ceremony.secret \
      --out share.json
)";

po::options_description common(const char* title) {
  po::options_description opts(title);
  opts.add_options()("tender", po::value<std::string>()->value_name("T")->required(), "tender id")(
      "token-file", po::value<std::string>()->value_name("F"),
      "session token file (default ~/.config/tenderhall/token)")(
      "json", po::bool_switch(), "machine-readable output (the server's JSON)");
  return opts;
}

void print(context& ctx, const po::variables_map& vm, const cer::view& v) {
  if (ctx.json || vm["json"].as<bool>()) {
    ctx.out << boost::json::serialize(v.raw) << "\n";
    return;
  }
  ctx.out << "tender " << v.tender_id << ", ceremony " << v.number << ": "
          << crypto::escrow::group_name(v.group) << ", any " << v.threshold << " of "
          << v.custodians << " custodians open a bid\n"
          << "round: " << v.state << (v.stale ? " (STALE: the tender's escrow changed)" : "")
          << "\n";
  for (const auto& m : v.members) {
    ctx.out << "  " << m.index << ". " << m.id << " (" << m.org_id
            << "): " << (m.transport_key.empty() ? "no key yet" : "key sent")
            << (m.dealt ? ", dealt" : "") << (m.confirmed ? ", confirmed" : "") << "\n";
  }
  if (!v.failure.empty()) ctx.out << "failed: " << v.failure << "\n";
  if (v.state == "done") {
    const auto setup = boost::json::parse(v.setup).as_object();
    ctx.out << "escrow public key: " << setup.at("public_key").as_string()
            << " (now the tender's escrow setup)\n";
  }
}

int run_start(context& ctx, const std::vector<std::string>& args) {
  auto opts = common("Options");
  opts.add_options()("group", po::value<std::string>()->default_value("ristretto255"),
                     "ristretto255 or sm2");
  int code = 0;
  const auto vm = parse_command_args(ctx, args, start_usage, opts, {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  use_session_token(c, *vm, true);
  const auto v = cer::start(c, (*vm)["tender"].as<std::string>(), (*vm)["group"].as<std::string>());
  if (!(ctx.json || (*vm)["json"].as<bool>())) ctx.out << "ceremony started\n";
  print(ctx, *vm, v);
  return exit_ok;
}

int run_status(context& ctx, const std::vector<std::string>& args) {
  int code = 0;
  const auto vm = parse_command_args(ctx, args, status_usage, common("Options"), {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  use_session_token(c, *vm, true);
  print(ctx, *vm, cer::status(c, (*vm)["tender"].as<std::string>()));
  return exit_ok;
}

// What join waits for, in words, for its progress lines.
std::string waiting_for(const cer::view& v) {
  const auto n = std::to_string(v.custodians);
  if (v.state == "keys") return "transport keys: " + std::to_string(v.keys_sent()) + " of " + n;
  if (v.state == "dealings") {
    return "dealings: " + std::to_string(v.count(&cer::member::dealt)) + " of " + n;
  }
  return "confirmations: " + std::to_string(v.count(&cer::member::confirmed)) + " of " + n;
}

int run_join(context& ctx, const std::vector<std::string>& args) {
  auto opts = common("Options");
  opts.add_options()("secret", po::value<std::string>()->value_name("FILE")->required(),
                     "your transport key for this ceremony (made on the first run, mode 0600)")(
      "out", po::value<std::string>()->value_name("SHARE.json")->required(),
      "where to write your joint share (mode 0600)")(
      "index", po::value<unsigned>()->value_name("I"), "your custodian index")(
      "poll", po::value<double>()->default_value(1.0), "seconds between status checks")(
      "timeout", po::value<double>()->default_value(3600.0),
      "give up waiting for the others after this many seconds")("force", po::bool_switch(),
                                                                "replace an existing --out file");
  int code = 0;
  const auto vm = parse_command_args(ctx, args, join_usage, opts, {}, code);
  if (!vm) return code;
  const bool json_out = ctx.json || (*vm)["json"].as<bool>();
  const auto tender_id = (*vm)["tender"].as<std::string>();
  const fs::path secret_path = (*vm)["secret"].as<std::string>();
  const fs::path out_path = (*vm)["out"].as<std::string>();
  const auto poll = std::chrono::duration<double>(std::max(0.05, (*vm)["poll"].as<double>()));
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>((*vm)["timeout"].as<double>()));
  auto c = ctx.make_client();
  use_session_token(c, *vm, true);
  const auto say = [&](const std::string& line) {
    if (!json_out) ctx.err << "ceremony: " << line << "\n";
  };

  auto v = cer::status(c, tender_id);
  std::uint32_t index = 0;
  if (vm->count("index") != 0u) {
    index = (*vm)["index"].as<unsigned>();
  } else if (v.your_indices.size() == 1) {
    index = v.your_indices.front();
  } else {
    throw error(codes::bad_input,
                v.your_indices.empty()
                    ? "your organisation is not a custodian of this ceremony"
                    : "your organisation holds several custodian indices; pick one with --index");
  }

  // The transport key: made once per ceremony and kept before its public half is sent, so that
  // a rerun after any interruption can still open the shares dealt to it.
  std::optional<cer::custodian_secret> secret;
  std::error_code ec;
  if (fs::exists(secret_path, ec)) {
    const auto text = read_secret_file(secret_path, max_small_file);
    secret = cer::secret_from_json({reinterpret_cast<const char*>(text.data()), text.size()});
    if (secret->tender_id != tender_id || secret->number != v.number || secret->index != index) {
      throw error(codes::bad_input, secret_path.string() + " is the secret of tender " +
                                        secret->tender_id + ", ceremony " +
                                        std::to_string(secret->number) + ", custodian " +
                                        std::to_string(secret->index) + "; this is ceremony " +
                                        std::to_string(v.number) + " of " + tender_id +
                                        ": use another --secret file");
    }
  }
  bool wrote_share = false;
  std::string last_progress;
  for (;;) {
    if (v.stale) {
      throw error("ceremony.stale", "the tender's escrow changed since ceremony " +
                                        std::to_string(v.number) +
                                        " started; its owner must start a new one");
    }
    if (v.state == "failed") throw error("ceremony.failed", "the ceremony failed: " + v.failure);
    if (v.state == "superseded") {
      throw error("ceremony.superseded", "ceremony " + std::to_string(v.number) +
                                             " was replaced by a newer one; join that one with "
                                             "a new --secret file");
    }
    const auto& me = v.members.at(index - 1);
    if (v.state == "keys" && me.transport_key.empty()) {
      if (!secret) {
        secret = cer::new_secret(v, index);
        write_file(secret_path, cer::secret_to_json(*secret).view(), {false, true});
        say("transport key saved to " + secret_path.string());
      }
      v = cer::send_key(c, *secret);
      say("transport key sent");
      continue;
    }
    if (v.state == "dealings" && !me.dealt) {
      v = cer::send_dealing(c, v, index);
      say("dealing sent (" + std::to_string(v.custodians) + " sealed shares)");
      continue;
    }
    if (v.state == "confirmations" && !me.confirmed) {
      if (!secret) {
        throw error(codes::bad_input, "no transport key at " + secret_path.string() +
                                          "; the shares dealt to you can only be opened with "
                                          "the --secret file the first run made");
      }
      auto opened = cer::open_dealt(v, *secret);
      if (!opened.share) {
        say("the share dealer " + std::to_string(opened.bad_dealer) + " sealed for you is wrong (" +
            opened.why + "); complaining");
        v = cer::send_complaint(c, v, *secret, opened.bad_dealer);
        if (json_out) ctx.out << boost::json::serialize(v.raw) << "\n";
        throw error("ceremony.dealer_at_fault",
                    v.failure.empty()
                        ? "dealer " + std::to_string(opened.bad_dealer) + " dealt a wrong share"
                        : v.failure);
      }
      write_file(out_path, crypto::escrow::share_to_json(*opened.share).view(),
                 {(*vm)["force"].as<bool>(), true});
      wrote_share = true;
      say("your joint share is in " + out_path.string());
      v = cer::send_confirmation(c, v, index, *opened.share);
      say("confirmation sent");
      continue;
    }
    if (v.state == "done") break;
    const auto progress = waiting_for(v);
    if (progress != last_progress) say("waiting for " + progress);
    last_progress = progress;
    if (std::chrono::steady_clock::now() >= give_up) {
      ctx.err << "tender: gave up waiting for the other custodians (" << progress
              << "); run the same command again to go on [ceremony.timeout]\n";
      return exit_not_ready;
    }
    std::this_thread::sleep_for(poll);
    v = cer::status(c, tender_id);
  }
  if (!wrote_share && !fs::exists(out_path, ec)) {
    throw error(codes::bad_input, "the ceremony is done but " + out_path.string() +
                                      " does not exist; it was written by the run that "
                                      "confirmed");
  }
  if (json_out) {
    ctx.out << boost::json::serialize(v.raw) << "\n";
  } else {
    print(ctx, *vm, v);
    ctx.out << "your share: " << out_path.string() << " (custodian " << index
            << "; keep it secret; --secret may now be destroyed)\n";
  }
  return exit_ok;
}

}  // namespace

void add_escrow_ceremony_commands(std::vector<command>& out) {
  out.push_back(
      {"escrow ceremony start", "start the custodians' key ceremony (tender owner)", run_start});
  out.push_back({"escrow ceremony status", "where a tender's key ceremony stands", run_status});
  out.push_back({"escrow ceremony join", "take part in a key ceremony as a custodian", run_join});
}

}  // namespace tender::cli
