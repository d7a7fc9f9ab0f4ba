// tender guarantee apply|attach|status|issuers|issuer-register and tender bond record|list:
// electronic guarantees (电子保函) and cash bid bonds (docs/GUARANTEES.md).

#include "command.hpp"
#include "io.hpp"

#include <tender/client/guarantees.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace json = boost::json;
namespace gs = tender::client::guarantees;

namespace {

constexpr const char* attach_usage =
    R"(tender guarantee attach — attach an electronic guarantee file to your bid (open flow)

Usage:
  tender guarantee attach TENDER FILE [--lot N] [--token-file F] [--json]

FILE is the guarantee file your bank, insurer or guarantee company delivered: a JSON document
{"document": {...}, "signature": "...", "signer": "..."} signed by the issuer. The platform checks
that the issuer is registered and signed it, that it names this tender's project code and lot,
the tenderer as beneficiary and your organisation as applicant, that the amount covers the lot's
bond, that it stays valid until the deadline plus the bid validity, that it was issued before the
deadline — and asks the issuer for its live status. Each failure has its own code
(guarantee.expired, guarantee.under_amount, guarantee.wrong_beneficiary, guarantee.revoked, ...);
nothing is recorded then. After the deadline: bid.deadline_passed.

Example:
  tender guarantee attach t-0123456789abcdef bank-guarantee.json --lot 1
)";

constexpr const char* apply_usage =
    R"(tender guarantee apply — apply for a guarantee through the platform (integrated flow)

Usage:
  tender guarantee apply TENDER --issuer ORG --code CODE [--lot N] [--wait SECONDS]
                         [--token-file F] [--json]

CODE is the application code the issuer gave you (for instance after the premium was paid on its
site); ORG is the issuer's organisation id (see `tender guarantee issuers`). The platform sends
the application with the tender's details (beneficiary, project code, lot, bond amount, required
validity) to the issuer, which issues the guarantee and pushes it back; it is then checked like an
attached file. With --wait the command polls until the application is issued or refused.

Example:
  tender guarantee apply t-0123456789abcdef --issuer bank-a --code PAID-20261120-7 --wait 30
)";

constexpr const char* status_usage =
    R"(tender guarantee status — the guarantees of a lot, or one application

Usage:
  tender guarantee status TENDER [--lot N] [--token-file F] [--json]
  tender guarantee status --application ID [--token-file F] [--json]

Bidders see their own guarantees with the status the issuer last reported (valid, revoked,
claimed, released). The tenderer, center staff and supervisors see only the count before the
deadline and every guarantee after it.
)";

constexpr const char* issuers_usage =
    R"(tender guarantee issuers — the registered guarantee issuers

Usage:
  tender guarantee issuers [--token-file F] [--json]
)";

constexpr const char* register_usage =
    R"(tender guarantee issuer-register — register a guarantee issuer's service (admin)

Usage:
  tender guarantee issuer-register --org ORG --url URL --fingerprint HEX [--token-file F] [--json]

ORG is an organisation of kind issuer; HEX is the fingerprint of the key that signs its
guarantees, which must be an active key of one of its users (tender admin key add). URL is where
the platform asks for live status and sends applications (protocol/docs/guarantee-api.md).
Registering again replaces URL and key.

Example:
  tender guarantee issuer-register --org bank-a --url http://127.0.0.1:8090 \
      --fingerprint 3f1c...e2
)";

constexpr const char* bond_record_usage =
    R"(tender bond record — record a cash bid bond deposit (投标保证金; center staff)

Usage:
  tender bond record TENDER --bidder ORG --amount FEN --payer-account ACCOUNT --payer-name NAME
                     --paid-at TIME [--lot N] [--token-file F] [--json]

FEN is the amount in fen (1/100 yuan); TIME is RFC 3339 ("2026-11-20T10:00:00+08:00"). The paying
account is kept: when one account paid for several bidders, `tender bond list` flags it (evidence
for a collusion review, never a disqualification by itself).
)";

constexpr const char* bond_list_usage =
    R"(tender bond list — the cash bonds of a lot, with the refund rule and shared payers

Usage:
  tender bond list TENDER [--lot N] [--token-file F] [--json]

The refund rule comes from the tender's rule pack (engineering: 5 days after the contract is
signed; government procurement: 5 working days after the award notice); the refund deadline is
shown once the triggering date is known.
)";

po::options_description common_options() {
  po::options_description opts("Options");
  opts.add_options()("token-file", po::value<std::string>(),
                     "session token file (default ~/.config/tenderhall/token)")(
      "json", po::bool_switch(), "machine-readable output");
  return opts;
}

// The saved session token (tender login).
std::string saved_token(const po::variables_map& vm) {
  const auto path = session_token_path(vm);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw error(codes::io, "no session token at " + path.string() + "; run tender login first");
  }
  return std::string(trim(read_file(path, 4096)));
}

bool as_json(const context& ctx, const po::variables_map& vm) {
  return ctx.json || vm["json"].as<bool>();
}

void lot_option(po::options_description& opts) {
  opts.add_options()("lot", po::value<int>()->default_value(1), "lot number (default 1)");
}

std::string str(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "-";
  return json::serialize(v);
}

void print_guarantee(context& ctx, const json::object& g) {
  ctx.out << str(g.at("number")) << "  " << str(g.at("status")) << "  issuer "
          << str(g.at("issuer")) << "  bidder " << str(g.at("bidder")) << "  "
          << str(g.at("amount")) << " fen  valid until " << str(g.at("valid_until")) << "  ("
          << str(g.at("flow")) << " flow, checked " << str(g.at("status_checked_at")) << ")\n";
}

void print_application(context& ctx, const json::object& a) {
  ctx.out << "application " << str(a.at("application_id")) << " to " << str(a.at("issuer")) << ": "
          << str(a.at("state"));
  if (const auto* r = a.if_contains("refusal"); r != nullptr && r->is_object()) {
    ctx.out << " (" << str(r->at("code")) << ": " << str(r->at("message")) << ")";
  }
  if (const auto* g = a.if_contains("guarantee_id"); g != nullptr && !g->is_null()) {
    ctx.out << ", guarantee record " << str(*g);
  }
  ctx.out << "\n";
}

int attach(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  lot_option(opts);
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id")(
      "file", po::value<std::string>()->required(), "guarantee file (JSON)");
  po::positional_options_description pos;
  pos.add("tender", 1).add("file", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, attach_usage, opts, pos, code);
  if (!vm) return code;
  const auto text = read_file((*vm)["file"].as<std::string>(), 64 * 1024);
  boost::system::error_code ec;
  const auto file = json::parse(text, ec);
  if (ec) throw error(codes::bad_input, "the guarantee file is not JSON: " + ec.message());
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto g = gs::attach(c, (*vm)["tender"].as<std::string>(), (*vm)["lot"].as<int>(), file);
  if (as_json(ctx, *vm)) {
    ctx.out << json::serialize(g) << "\n";
  } else {
    ctx.out << (g.at("replayed").as_bool() ? "already attached: " : "attached: ");
    print_guarantee(ctx, g);
  }
  return exit_ok;
}

int apply(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  lot_option(opts);
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id")(
      "issuer", po::value<std::string>()->required(), "issuer organisation id")(
      "code", po::value<std::string>()->required(), "application code from the issuer")(
      "wait", po::value<int>()->default_value(0), "seconds to wait for the issued guarantee");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, apply_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  auto a = gs::apply(c, (*vm)["tender"].as<std::string>(), (*vm)["lot"].as<int>(),
                     (*vm)["issuer"].as<std::string>(), (*vm)["code"].as<std::string>());
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::seconds((*vm)["wait"].as<int>());
  const std::string id(a.at("application_id").as_string());
  while (a.at("state").as_string() == "pending" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    a = gs::application(c, id);
  }
  if (as_json(ctx, *vm)) {
    ctx.out << json::serialize(a) << "\n";
  } else {
    print_application(ctx, a);
  }
  return a.at("state").as_string() == "refused" ? exit_failure : exit_ok;
}

int status(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  lot_option(opts);
  opts.add_options()("tender", po::value<std::string>(), "tender id")(
      "application", po::value<std::string>(), "an application id (integrated flow)");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, status_usage, opts, pos, code);
  if (!vm) return code;
  if ((vm->count("tender") == 0u) == (vm->count("application") == 0u)) {
    return usage_error(ctx, "give either TENDER or --application ID");
  }
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  if (vm->count("application") != 0u) {
    const auto a = gs::application(c, (*vm)["application"].as<std::string>());
    if (as_json(ctx, *vm)) {
      ctx.out << json::serialize(a) << "\n";
    } else {
      print_application(ctx, a);
    }
    return exit_ok;
  }
  const auto l = gs::list(c, (*vm)["tender"].as<std::string>(), (*vm)["lot"].as<int>());
  if (as_json(ctx, *vm)) {
    ctx.out << json::serialize(l) << "\n";
    return exit_ok;
  }
  const auto* list = l.if_contains("guarantees");
  if (list == nullptr) {
    ctx.out << l.at("count").as_int64()
            << " guarantee(s) attached; who attached them is shown after the deadline\n";
    return exit_ok;
  }
  if (list->as_array().empty()) ctx.out << "no guarantees\n";
  for (const auto& g : list->as_array())
    print_guarantee(ctx, g.as_object());
  return exit_ok;
}

int issuers(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  po::positional_options_description pos;
  int code = 0;
  auto vm = parse_command_args(ctx, args, issuers_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto l = gs::issuers(c);
  if (as_json(ctx, *vm)) {
    ctx.out << json::serialize(l) << "\n";
    return exit_ok;
  }
  if (l.at("issuers").as_array().empty()) ctx.out << "no registered issuers\n";
  for (const auto& i : l.at("issuers").as_array()) {
    ctx.out << str(i.at("org_id")) << "  " << str(i.at("name")) << "  " << str(i.at("base_url"))
            << "  key " << str(i.at("key_fingerprint")) << "\n";
  }
  return exit_ok;
}

int issuer_register(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("org", po::value<std::string>()->required(), "issuer organisation id")(
      "url", po::value<std::string>()->required(), "base URL of the issuer's service")(
      "fingerprint", po::value<std::string>()->required(), "fingerprint of its signing key");
  po::positional_options_description pos;
  int code = 0;
  auto vm = parse_command_args(ctx, args, register_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto r =
      gs::register_issuer(c, (*vm)["org"].as<std::string>(), (*vm)["url"].as<std::string>(),
                          (*vm)["fingerprint"].as<std::string>());
  if (as_json(ctx, *vm)) {
    ctx.out << json::serialize(r) << "\n";
  } else {
    ctx.out << "registered issuer " << str(r.at("org_id")) << " at " << str(r.at("base_url"))
            << " (key " << str(r.at("key_fingerprint")) << ")\n";
  }
  return exit_ok;
}

int bond_record(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  lot_option(opts);
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id")(
      "bidder", po::value<std::string>()->required(), "bidder organisation id")(
      "amount", po::value<std::int64_t>()->required(), "amount in fen")(
      "payer-account", po::value<std::string>()->required(), "paying bank account")(
      "payer-name", po::value<std::string>()->required(), "name of the account holder")(
      "paid-at", po::value<std::string>()->required(), "payment time, RFC 3339");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, bond_record_usage, opts, pos, code);
  if (!vm) return code;
  gs::bond_record b;
  b.bidder = (*vm)["bidder"].as<std::string>();
  b.amount = (*vm)["amount"].as<std::int64_t>();
  b.payer_account = (*vm)["payer-account"].as<std::string>();
  b.payer_name = (*vm)["payer-name"].as<std::string>();
  b.paid_at = (*vm)["paid-at"].as<std::string>();
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto r = gs::record_bond(c, (*vm)["tender"].as<std::string>(), (*vm)["lot"].as<int>(), b);
  if (as_json(ctx, *vm)) {
    ctx.out << json::serialize(r) << "\n";
  } else {
    ctx.out << "recorded bond " << str(r.at("id")) << ": " << str(r.at("bidder")) << " paid "
            << str(r.at("amount")) << " fen from " << str(r.at("payer_account")) << " at "
            << str(r.at("paid_at")) << "\n";
  }
  return exit_ok;
}

int bond_list(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  lot_option(opts);
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, bond_list_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto l = gs::bonds(c, (*vm)["tender"].as<std::string>(), (*vm)["lot"].as<int>());
  if (as_json(ctx, *vm)) {
    ctx.out << json::serialize(l) << "\n";
    return exit_ok;
  }
  const auto& rule = l.at("refund_rule").as_object();
  if (!rule.empty()) {
    ctx.out << "refund: " << str(rule.at("days"))
            << (rule.at("working_days").as_bool() ? " working days" : " days") << " after "
            << (rule.at("trigger").as_string() == "award_notice" ? "the award notice"
                                                                 : "the contract is signed")
            << "\n";
  }
  if (l.at("bonds").as_array().empty()) ctx.out << "no bonds\n";
  for (const auto& b : l.at("bonds").as_array()) {
    ctx.out << str(b.at("id")) << "  " << str(b.at("bidder")) << "  " << str(b.at("amount"))
            << " fen  from " << str(b.at("payer_account")) << " (" << str(b.at("payer_name"))
            << ")  paid " << str(b.at("paid_at"));
    const auto& shared = b.at("shared_payer").as_array();
    if (!shared.empty()) {
      ctx.out << "  SHARED PAYER with";
      for (const auto& o : shared)
        ctx.out << " " << str(o);
    }
    ctx.out << "\n";
  }
  return exit_ok;
}

}  // namespace

void add_guarantee_commands(std::vector<command>& out) {
  out.push_back({"guarantee attach", "attach an electronic guarantee file (open flow)", attach});
  out.push_back({"guarantee apply", "apply for a guarantee through the platform", apply});
  out.push_back({"guarantee status", "your guarantees of a lot, or one application", status});
  out.push_back({"guarantee issuers", "the registered guarantee issuers", issuers});
  out.push_back({"guarantee issuer-register", "register an issuer's service and key (admin)",
                 issuer_register});
  out.push_back({"bond record", "record a cash bid bond deposit (center staff)", bond_record});
  out.push_back({"bond list", "the cash bonds of a lot, shared payers flagged", bond_list});
}

}  // namespace tender::cli
