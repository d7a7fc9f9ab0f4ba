// tender tender create | show | list | update | publish | amend | cancel | suspend | resume.

#include "command.hpp"
#include "io.hpp"

#include <tender/client/tenders.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr const char* create_usage =
    R"usage(tender tender create — create a draft tender (a tenderer of a tenderer/agency organisation)

Usage:
  tender tender create --file TENDER.json [--idempotency-key KEY] [--token-file F] [--json]

TENDER.json (money in fen, times RFC 3339 with a zone):
  {
    "project_code": "HZ-2026-001",
    "title": "No. 3 Middle School gymnasium",
    "kind": "works",                      (works | goods | services)
    "rule_pack": "engineering",           (engineering | gov_procurement | sandbox)
    "deadline_at": "2026-12-20T09:30:00+08:00",
    "opening_at":  "2026-12-20T09:30:00+08:00",
    "time_zone": "Asia/Shanghai",         (optional)
    "key_policy": "bidder_only",          (optional; bidder_or_escrow needs "escrow")
    "evaluation_method": "comprehensive", (optional; the pack's first method by default)
    "lots": [{"lot_no": 1, "title": "Main building", "estimated_price": 1200000000,
              "ceiling_price": 1250000000, "bond_amount": 20000000,
              "summary_fields": [{"key": "price", "label": "投标报价", "type": "money"},
                                 {"key": "duration", "label": "工期", "type": "days"}]}]
  }

A retry with the same --idempotency-key returns the same tender instead of a second one.

Examples:
  tender tender create --file gym.json --idempotency-key gym-2026-001
)usage";

constexpr const char* show_usage =
    R"usage(tender tender show — show a tender (published tenders need no login)

Usage:
  tender tender show ID [--token-file F] [--json]
)usage";

constexpr const char* list_usage =
    R"usage(tender tender list — list tenders you may see, a page at a time

Usage:
  tender tender list [--state STATE] [--owner ORG] [--after ID] [--limit N] [--token-file F]
)usage";

constexpr const char* update_usage =
    R"usage(tender tender update — change fields of a draft (PATCH)

Usage:
  tender tender update ID --file PATCH.json [--if-match ETAG] [--token-file F] [--json]

PATCH.json holds the fields to change, as in `tender tender create --help` ("lots" replaces the
whole list). Without --if-match the command reads the tender first and uses its ETag.

Examples:
  echo '{"title": "No. 3 Middle School gymnasium (revised)"
}' > patch.json
  tender tender update t-0123456789abcdef --file patch.json
)usage";

constexpr const char* publish_usage =
    R"usage(tender tender publish — publish a draft: the rule pack checks it (422 lists every problem)

Usage:
  tender tender publish ID [--if-match ETAG] [--token-file F] [--json]
)usage";

constexpr const char* amend_usage =
    R"usage(tender tender amend — issue an amendment (更正) to a published tender before its deadline

Usage:
  tender tender amend ID --file CHANGES.json [--if-match ETAG] [--token-file F] [--json]

CHANGES.json:
  {"reason": "Bond corrected",
   "changes": {"deadline_at": "2026-12-27T09:30:00+08:00",
               "lots": [{"lot_no": 1, "bond_amount": 15000000}]}}

An amendment closer to the deadline than the rule pack allows moves the deadline (and the
opening) automatically; the answer says so ("deadline_moved": true).
)usage";

constexpr const char* cancel_usage =
    R"usage(tender tender cancel — cancel a tender before its opening

Usage:
  tender tender cancel ID --reason TEXT [--token-file F] [--json]
)usage";

constexpr const char* suspend_usage =
    R"usage(tender tender suspend — suspend a tender (supervisor)

Usage:
  tender tender suspend ID --reason TEXT [--token-file F] [--json]
)usage";

constexpr const char* resume_usage =
    R"usage(tender tender resume — resume a suspended tender (supervisor)

Usage:
  tender tender resume ID [--reason TEXT] [--token-file F] [--json]
)usage";

// Sets the saved token when there is one (reading a published tender needs none).
void common_options(po::options_description& opts) {
  opts.add_options()("token-file", po::value<std::string>(),
                     "session token file (default ~/.config/tenderhall/token)")(
      "json", po::bool_switch(), "machine-readable output (the server's JSON)");
}

std::string json_file(const std::string& path) {
  const std::string text = read_file(path, max_small_file);
  boost::system::error_code ec;
  const auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) {
    throw error(codes::bad_input,
                path + " is not a JSON object" + (ec ? ": " + ec.message() : std::string()));
  }
  return text;
}

std::string field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->get_string());
  return boost::json::serialize(*v);
}

void print(context& ctx, const po::variables_map& vm, const client::tender_reply& r,
           std::string_view verb) {
  if (ctx.json || vm["json"].as<bool>()) {
    ctx.out << r.body << "\n";
    return;
  }
  const auto doc = boost::json::parse(r.body).as_object();
  const auto& t = doc.contains("tender") ? doc.at("tender").as_object() : doc;
  if (!verb.empty()) ctx.out << verb << " " << r.id << "\n";
  ctx.out << "id:        " << r.id << "\n"
          << "project:   " << field(t, "project_code") << "  " << field(t, "title") << "\n"
          << "state:     " << r.state << " (version " << r.version << ", ETag " << r.etag << ")\n"
          << "rule pack: " << field(t, "rule_pack") << ", kind " << field(t, "kind") << "\n"
          << "deadline:  " << field(t, "deadline_at") << " (" << field(t, "deadline_local") << ")\n"
          << "opening:   " << field(t, "opening_at") << " (" << field(t, "opening_local") << ")\n";
  if (const auto* lots = t.if_contains("lots"); lots != nullptr && lots->is_array()) {
    for (const auto& l : lots->get_array()) {
      const auto& lo = l.as_object();
      ctx.out << "lot " << field(lo, "lot_no") << ":     " << field(lo, "title") << ", estimated "
              << field(lo, "estimated_price") << " fen, bond " << field(lo, "bond_amount")
              << " fen\n";
    }
  }
  if (const auto* a = doc.if_contains("amendment"); a != nullptr && a->is_object()) {
    const auto& ao = a->get_object();
    ctx.out << "amendment " << field(ao, "amendment_no") << ": deadline "
            << (ao.at("deadline_moved").as_bool() ? "MOVED " : "unchanged ")
            << field(ao, "old_deadline_at") << " -> " << field(ao, "new_deadline_at") << "\n";
  }
}

// The ETag to send: --if-match, or the current one read first.
std::string current_etag(client::client& c, const po::variables_map& vm, const std::string& id) {
  if (vm.count("if-match") != 0u) {
    std::string e = vm["if-match"].as<std::string>();
    if (e.empty() || e.front() != '"') e = "\"" + e + "\"";
    return e;
  }
  return client::get_tender(c, id).etag;
}

po::positional_options_description id_positional() {
  po::positional_options_description p;
  p.add("id", 1);
  return p;
}

int create(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("file", po::value<std::string>()->required(), "the tender JSON")(
      "idempotency-key", po::value<std::string>(), "makes a retried create safe");
  common_options(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, create_usage, opts, {}, code);
  if (!vm) return code;
  const auto body = json_file((*vm)["file"].as<std::string>());
  auto c = ctx.make_client();
  use_session_token(c, *vm, true);
  const std::string key =
      vm->count("idempotency-key") != 0u ? (*vm)["idempotency-key"].as<std::string>() : "";
  print(ctx, *vm, client::create_tender(c, body, key), "created");
  return exit_ok;
}

int show(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("id", po::value<std::string>()->required(), "tender id");
  common_options(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, show_usage, opts, id_positional(), code);
  if (!vm) return code;
  auto c = ctx.make_client();
  use_session_token(c, *vm, false);
  print(ctx, *vm, client::get_tender(c, (*vm)["id"].as<std::string>()), "");
  return exit_ok;
}

int list(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("state", po::value<std::string>(), "only tenders in this state")(
      "owner", po::value<std::string>(), "only tenders of this organisation")(
      "after", po::value<std::string>(), "the next_after cursor of the previous page")(
      "limit", po::value<int>(), "page size (1..200)");
  common_options(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, list_usage, opts, {}, code);
  if (!vm) return code;
  client::tender_query q;
  if (vm->count("state") != 0u) q.state = (*vm)["state"].as<std::string>();
  if (vm->count("owner") != 0u) q.owner = (*vm)["owner"].as<std::string>();
  if (vm->count("after") != 0u) q.after = (*vm)["after"].as<std::string>();
  if (vm->count("limit") != 0u) q.limit = (*vm)["limit"].as<int>();
  auto c = ctx.make_client();
  use_session_token(c, *vm, false);
  const auto page = client::list_tenders(c, q);
  if (ctx.json || (*vm)["json"].as<bool>()) {
    ctx.out << page << "\n";
    return exit_ok;
  }
  const auto doc = boost::json::parse(page).as_object();
  for (const auto& t : doc.at("tenders").as_array()) {
    const auto& o = t.as_object();
    ctx.out << field(o, "id") << "  " << field(o, "state") << "  " << field(o, "deadline_at")
            << "  " << field(o, "project_code") << "  " << field(o, "title") << "\n";
  }
  if (doc.at("next_after").is_string()) {
    ctx.out << "(more: --after " << doc.at("next_after").as_string().c_str() << ")\n";
  }
  return exit_ok;
}

int with_file_and_etag(context& ctx, const std::vector<std::string>& args, const char* usage,
                       bool amend) {
  po::options_description opts("Options");
  opts.add_options()("id", po::value<std::string>()->required(), "tender id")(
      "file", po::value<std::string>()->required(), "the JSON body")(
      "if-match", po::value<std::string>(), "the ETag you read (default: read it now)");
  common_options(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, usage, opts, id_positional(), code);
  if (!vm) return code;
  const auto body = json_file((*vm)["file"].as<std::string>());
  const auto id = (*vm)["id"].as<std::string>();
  auto c = ctx.make_client();
  use_session_token(c, *vm, true);
  const auto etag = current_etag(c, *vm, id);
  if (amend) {
    print(ctx, *vm, client::amend_tender(c, id, etag, body), "amended");
  } else {
    print(ctx, *vm, client::update_tender(c, id, etag, body), "updated");
  }
  return exit_ok;
}

int update(context& ctx, const std::vector<std::string>& args) {
  return with_file_and_etag(ctx, args, update_usage, false);
}

int amend(context& ctx, const std::vector<std::string>& args) {
  return with_file_and_etag(ctx, args, amend_usage, true);
}

int publish(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("id", po::value<std::string>()->required(), "tender id")(
      "if-match", po::value<std::string>(), "the ETag you read (default: read it now)");
  common_options(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, publish_usage, opts, id_positional(), code);
  if (!vm) return code;
  const auto id = (*vm)["id"].as<std::string>();
  auto c = ctx.make_client();
  use_session_token(c, *vm, true);
  const auto etag = current_etag(c, *vm, id);
  print(ctx, *vm, client::publish_tender(c, id, etag), "published");
  return exit_ok;
}

enum class state_change { cancel, suspend, resume };

int change(context& ctx, const std::vector<std::string>& args, const char* usage, state_change k) {
  po::options_description opts("Options");
  auto reason = po::value<std::string>();
  if (k != state_change::resume) reason->required();
  opts.add_options()("id", po::value<std::string>()->required(), "tender id")("reason", reason,
                                                                              "why (public)");
  common_options(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, usage, opts, id_positional(), code);
  if (!vm) return code;
  const auto id = (*vm)["id"].as<std::string>();
  const std::string why = vm->count("reason") != 0u ? (*vm)["reason"].as<std::string>() : "";
  auto c = ctx.make_client();
  use_session_token(c, *vm, true);
  switch (k) {
    case state_change::cancel:
      print(ctx, *vm, client::cancel_tender(c, id, why), "cancelled");
      break;
    case state_change::suspend:
      print(ctx, *vm, client::suspend_tender(c, id, why), "suspended");
      break;
    case state_change::resume:
      print(ctx, *vm, client::resume_tender(c, id, why), "resumed");
      break;
  }
  return exit_ok;
}

}  // namespace

void add_tender_commands(std::vector<command>& out) {
  out.push_back({"tender create", "create a draft tender from a JSON file (tenderer)", create});
  out.push_back({"tender show", "show a tender", show});
  out.push_back({"tender list", "list the tenders you may see", list});
  out.push_back({"tender update", "change fields of a draft tender (tenderer)", update});
  out.push_back({"tender publish", "publish a draft tender after the rule pack check", publish});
  out.push_back(
      {"tender amend", "amend a published tender (a late one moves the deadline)", amend});
  out.push_back({"tender cancel", "cancel a tender before its opening (tenderer)",
                 [](context& c, const std::vector<std::string>& a) {
                   return change(c, a, cancel_usage, state_change::cancel);
                 }});
  out.push_back({"tender suspend", "suspend a tender (supervisor)",
                 [](context& c, const std::vector<std::string>& a) {
                   return change(c, a, suspend_usage, state_change::suspend);
                 }});
  out.push_back({"tender resume", "resume a suspended tender (supervisor)",
                 [](context& c, const std::vector<std::string>& a) {
                   return change(c, a, resume_usage, state_change::resume);
                 }});
}

}  // namespace tender::cli
