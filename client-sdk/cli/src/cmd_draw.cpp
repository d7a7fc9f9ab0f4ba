// tender draw and tender verify-draw — verifiable draws (experts, supervisors, the discount rate)
// and the self-contained record anyone can recompute (algorithm: protocol/docs/verifiable-draw.md).

#include "command.hpp"
#include "io.hpp"

#include <tender/crypto/draw.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// The record layout (version 1):
//   {"type": "tenderhall.draw.record", "version": 1, "algorithm": "tenderhall/draw/v1",
//    "seed_materials": [{"label": "...", "value": "<hex>"}, ...],
//    "candidates": ["id", ...], "exclusions": ["id", ...], "count": N,
//    "seed": "<hex SHA-256 of the transcript>", "selected": ["id", ...]}
// Every list keeps its order: the order is part of what the draw hashes.
constexpr std::string_view record_type = "tenderhall.draw.record";
constexpr std::int64_t record_version = 1;

constexpr const char* draw_usage =
    R"(tender draw — run a verifiable draw and write its record

Usage:
  tender draw --seed LABEL=VALUE... --candidates FILE [--exclude FILE] --count N
              [--out RECORD.json] [--force] [--json]

Draws N ids from the candidate list, in order, with the deterministic algorithm
tenderhall/draw/v1: the seed is SHA-256 of all inputs and drives a partial Fisher-Yates shuffle,
so anyone holding the inputs gets the same selection. To draw k people with r ordered reserves,
draw N = k + r at once: the first k are selected, the rest replace them in order.

  --seed LABEL=VALUE   one seed material, repeatable, hashed in the order given. VALUE is hex
                       bytes, or text:STRING for text (as UTF-8); LABEL= alone is an empty value
                       (e.g. a reveal that never came). Labels are unique and contain no '='.
  --candidates FILE    the published candidate list, one id per line, in its published order
                       (blank lines are ignored; nothing else is trimmed).
  --exclude FILE       ids to avoid (conflicts of interest, unavailability), one per line; each
                       must be a candidate.

Prints the seed and the selection. --out writes the draw record (inputs, seed, selection) that
`tender verify-draw` checks; --json prints that record.

Examples:
  tender draw --seed draw_id=text:T-2024-0001/experts/1 \
      --seed checkpoint_root=5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328 \
      --seed host_reveal=00112233445566778899aabbccddeeff \
      --candidates experts.txt --exclude conflicts.txt --count 4 --out draw-experts.json
  tender draw --seed draw_id=text:T-2024-0001/rate --candidates rates.txt --count 1 --json
)";

constexpr const char* verify_draw_usage =
    R"(tender verify-draw — recompute a published draw and compare it with its record

Usage:
  tender verify-draw [--log-key KEY] [--json] RECORD.json

RECORD.json may also be a draw as the opening hall publishes it: a hall event (the message or
its data: representative_drawn, parameters_drawn), a draw object from the hall's snapshot, or
the opening record file (old ones included); every draw found in it is checked.

A parameter draw of the hall's procedure v2 publishes the audit checkpoint signed in the draw
(hall-protocol.md §11): its root must be the draw's draw_checkpoint input, and with --log-key
(the audit log's verifier key, or a file holding it) its note must be signed by that key for
that size and root.

Recomputes the seed and the selection from the record's inputs (seed materials, candidates,
exclusions, count) with tenderhall/draw/v1 and compares them with the record's seed and
selection, in order. Exit code 0 when they match; 1 when they do not (cli.draw_mismatch, naming
the first differing position), when the record is malformed (cli.bad_draw_record) or when its
inputs break the draw rules (draw.*).

Examples:
  tender verify-draw draw-experts.json
  tender verify-draw --json draw-experts.json
  tender verify-draw --log-key log-key.txt opening-record.json
  tender hall watch --tender t-0123456789abcdef --json | grep -m1 parameters_drawn > draws.json
  tender verify-draw draws.json
)";

[[noreturn]] void bad_record(const std::string& why) {
  throw error(codes::bad_draw_record, "not a valid draw record: " + why);
}

// "LABEL=VALUE" with VALUE hex or text:STRING.
crypto::draw_seed_material parse_seed(const std::string& arg) {
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos) {
    throw error(codes::bad_input, "--seed takes LABEL=VALUE (hex) or LABEL=text:STRING");
  }
  crypto::draw_seed_material m;
  m.label = arg.substr(0, eq);
  const std::string_view value = std::string_view(arg).substr(eq + 1);
  constexpr std::string_view text_prefix = "text:";
  if (value.substr(0, text_prefix.size()) == text_prefix) {
    const auto text = value.substr(text_prefix.size());
    m.value.assign(text.begin(), text.end());
  } else {
    try {
      m.value = crypto::hex_decode(value);
    } catch (const crypto::error&) {
      // The label is public (it is published with the draw), so naming it is fine.
      throw error(codes::bad_input,
                  "--seed " + m.label + ": the value must be hex bytes, or text:STRING for text");
    }
  }
  return m;
}

json::object record_to_json(const crypto::draw_result& r) {
  json::array materials;
  for (const auto& m : r.inputs.seed_materials) {
    materials.push_back(json::object{{"label", m.label}, {"value", crypto::hex_encode(m.value)}});
  }
  auto strings = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v)
      a.push_back(json::value(s));
    return a;
  };
  return {{"type", record_type},
          {"version", record_version},
          {"algorithm", crypto::draw_domain},
          {"seed_materials", std::move(materials)},
          {"candidates", strings(r.inputs.candidates)},
          {"exclusions", strings(r.inputs.exclusions)},
          {"count", r.inputs.count},
          {"seed", crypto::to_hex(r.seed)},
          {"selected", strings(r.selected)}};
}

const json::value& member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) bad_record("missing \"" + std::string(key) + "\"");
  return *v;
}

std::string string_member(const json::object& o, std::string_view key) {
  const json::value& v = member(o, key);
  if (!v.is_string()) bad_record("\"" + std::string(key) + "\" must be a string");
  return std::string(v.get_string());
}

std::vector<std::string> string_list(const json::object& o, std::string_view key) {
  const json::value& v = member(o, key);
  if (!v.is_array()) bad_record("\"" + std::string(key) + "\" must be a list");
  std::vector<std::string> out;
  for (const auto& e : v.get_array()) {
    if (!e.is_string()) {
      bad_record("element " + std::to_string(out.size() + 1) + " of \"" + std::string(key) +
                 "\" must be a string");
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

struct draw_record {
  crypto::draw_inputs inputs;
  crypto::sha256_digest seed{};
  std::vector<std::string> selected;
};

// Strict: a verifier must not appear to vouch for fields it did not check, so unknown members
// are refused rather than ignored.
draw_record record_from_json(std::string_view text) {
  json::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) bad_record("not JSON (" + ec.message() + ")");
  if (!doc.is_object()) bad_record("expected a JSON object");
  const json::object& o = doc.get_object();
  for (const auto& m : o) {
    static constexpr std::string_view known[] = {"type",           "version",    "algorithm",
                                                 "seed_materials", "candidates", "exclusions",
                                                 "count",          "seed",       "selected"};
    if (std::find(std::begin(known), std::end(known), m.key()) == std::end(known)) {
      bad_record("unknown member \"" + std::string(m.key()) + "\"");
    }
  }
  if (string_member(o, "type") != record_type)
    bad_record("\"type\" is not " + std::string(record_type));
  const json::value& version = member(o, "version");
  if (!version.is_int64() || version.get_int64() != record_version) {
    bad_record("unsupported \"version\" (this tender understands 1)");
  }
  if (string_member(o, "algorithm") != crypto::draw_domain) {
    bad_record("unsupported \"algorithm\" (this tender understands " +
               std::string(crypto::draw_domain) + ")");
  }

  draw_record r;
  const json::value& materials = member(o, "seed_materials");
  if (!materials.is_array()) bad_record("\"seed_materials\" must be a list");
  for (const auto& e : materials.get_array()) {
    const std::string where = "seed material " + std::to_string(r.inputs.seed_materials.size() + 1);
    if (!e.is_object() || e.get_object().size() != 2) {
      bad_record(where + " must be an object with \"label\" and \"value\"");
    }
    crypto::draw_seed_material m;
    m.label = string_member(e.get_object(), "label");
    try {
      m.value = crypto::hex_decode(string_member(e.get_object(), "value"));
    } catch (const crypto::error&) {
      bad_record(where + ": \"value\" must be hex");
    }
    r.inputs.seed_materials.push_back(std::move(m));
  }
  r.inputs.candidates = string_list(o, "candidates");
  r.inputs.exclusions = string_list(o, "exclusions");
  const json::value& count = member(o, "count");
  if (!count.is_int64() || count.get_int64() < 0 ||
      count.get_int64() > std::numeric_limits<std::uint32_t>::max()) {
    bad_record("\"count\" must be a whole number below 2^32");
  }
  r.inputs.count = static_cast<std::uint32_t>(count.get_int64());
  const std::string seed = string_member(o, "seed");
  bool seed_ok = seed.size() == 2 * r.seed.size();
  if (seed_ok) {
    try {
      const crypto::bytes raw = crypto::hex_decode(seed);
      std::copy(raw.begin(), raw.end(), r.seed.begin());
    } catch (const crypto::error&) {
      seed_ok = false;
    }
  }
  if (!seed_ok) bad_record("\"seed\" must be 64 hex digits");
  r.selected = string_list(o, "selected");
  return r;
}

// ---- draw ---------------------------------------------------------------------------------------

int draw(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("seed",
       po::value<std::vector<std::string>>()->value_name("LABEL=VALUE")->composing()->multitoken(),
       "seed material LABEL=HEX or LABEL=text:STRING (repeatable, ordered)")  //
      ("candidates", po::value<std::string>()->value_name("FILE")->required(),
       "candidate ids, one per line")                                                          //
      ("exclude", po::value<std::string>()->value_name("FILE"), "ids to avoid, one per line")  //
      ("count", po::value<std::string>()->value_name("N")->required(),
       "how many ids to draw, in order")                                                          //
      ("out", po::value<std::string>()->value_name("FILE"), "write the draw record (JSON) here")  //
      ("force", po::bool_switch(), "replace --out if it exists")                                  //
      ("json", po::bool_switch(), "print the draw record instead of a summary");
  int code = 0;
  auto vm = parse_command_args(ctx, args, draw_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("seed") == 0u) return usage_error(ctx, "at least one --seed LABEL=VALUE is needed");
  const auto count = parse_u64((*vm)["count"].as<std::string>());
  if (!count || *count > std::numeric_limits<std::uint32_t>::max()) {
    return usage_error(ctx, "--count takes a whole number");
  }

  crypto::init();
  crypto::draw_inputs inputs;
  for (const auto& s : (*vm)["seed"].as<std::vector<std::string>>())
    inputs.seed_materials.push_back(parse_seed(s));
  inputs.candidates = split_lines(read_file((*vm)["candidates"].as<std::string>(), max_large_file));
  if (vm->count("exclude") != 0u) {
    inputs.exclusions = split_lines(read_file((*vm)["exclude"].as<std::string>(), max_large_file));
  }
  inputs.count = static_cast<std::uint32_t>(*count);
  const crypto::draw_result result = crypto::run_draw(inputs);

  const std::string record = pretty_json(record_to_json(result)) + "\n";
  if (vm->count("out") != 0u) {
    write_file((*vm)["out"].as<std::string>(), record, {(*vm)["force"].as<bool>(), false});
  }
  if (as_json) {
    ctx.out << record;
    return exit_ok;
  }
  ctx.out << "seed: " << crypto::to_hex(result.seed) << "\n"
          << "selected (in draw order, " << result.selected.size() << " of "
          << inputs.candidates.size() - inputs.exclusions.size() << " eligible):\n";
  for (std::size_t i = 0; i < result.selected.size(); ++i)
    ctx.out << "  " << i + 1 << ". " << result.selected[i] << "\n";
  if (vm->count("out") != 0u) {
    ctx.out << "record: " << (*vm)["out"].as<std::string>()
            << "  (publish it; anyone can check it with tender verify-draw)\n";
  }
  return exit_ok;
}

// ---- verify-draw --------------------------------------------------------------------------------

// A draw found in a hall document, with the draw checkpoint its entry publishes (procedure v2).
struct hall_draw {
  std::string record;                      // the draw as a draw record text
  std::optional<json::object> checkpoint;  // {"size","root","note",...} beside it, if any
};

// The draws in a document as the opening hall publishes them (hall-protocol.md §11): a draw
// object without "type"/"version", an event message or its data (representative_drawn,
// parameters_drawn), or an opening record file (its "draws" object and their "parameters").
void collect_hall_draws(const json::value& v, std::vector<hall_draw>& out, int depth = 0,
                        const json::object* checkpoint = nullptr) {
  if (depth > 6 || !v.is_object()) return;
  const auto& o = v.get_object();
  if (o.contains("seed_materials")) {
    json::object d = o;
    if (!d.contains("type")) d["type"] = record_type;
    if (!d.contains("version")) d["version"] = record_version;
    if (!d.contains("algorithm")) d["algorithm"] = crypto::draw_domain;
    out.push_back({json::serialize(d), checkpoint != nullptr
                                           ? std::optional<json::object>(*checkpoint)
                                           : std::nullopt});
    return;
  }
  const json::value* cp = o.if_contains("checkpoint");
  for (const char* key : {"data", "record", "draw", "representative_draw"}) {
    const json::object* beside = std::string_view(key) == "draw" && cp != nullptr && cp->is_object()
                                     ? &cp->get_object()
                                     : nullptr;
    if (const auto* x = o.if_contains(key)) collect_hall_draws(*x, out, depth + 1, beside);
  }
  for (const char* key : {"draws", "parameters"}) {
    const auto* list = o.if_contains(key);
    if (list == nullptr) continue;
    if (list->is_array()) {
      for (const auto& d : list->get_array())
        collect_hall_draws(d, out, depth + 1);
    } else {
      collect_hall_draws(*list, out, depth + 1);  // the opening record's "draws" object
    }
  }
}

// The audit log's key to check draw checkpoints with (nullopt: they are compared with the draw's
// input only).
using log_key = std::optional<crypto::note::verifier_key>;

int check_one(context& ctx, const fs::path& path, const std::string& text, bool as_json,
              const std::optional<json::object>& checkpoint, const log_key& key);

int check_record(context& ctx, const fs::path& path, bool as_json, const log_key& key) {
  const std::string text = read_file(path, max_large_file);
  json::error_code ec;
  const json::value doc = json::parse(text, ec);
  const json::value* type = !ec && doc.is_object() ? doc.get_object().if_contains("type") : nullptr;
  if (!ec && doc.is_object() &&
      (type == nullptr || !type->is_string() || type->get_string() != record_type)) {
    std::vector<hall_draw> draws;
    collect_hall_draws(doc, draws);
    if (!draws.empty()) {
      for (const auto& d : draws) {
        const int r = check_one(ctx, path, d.record, as_json, d.checkpoint, key);
        if (r != exit_ok) return r;
      }
      return exit_ok;
    }
  }
  return check_one(ctx, path, text, as_json, std::nullopt, key);
}

// The draw checkpoint published beside a parameter draw: its root must be the draw's
// draw_checkpoint input and, with the log's key, its note a checkpoint of that size and root
// signed by it. Returns what was checked, for the report; throws error or crypto::error.
std::string check_draw_checkpoint(const fs::path& path, const draw_record& record,
                                  const json::object& cp, const log_key& key) {
  const auto where = path.string() + ": the draw checkpoint";
  const auto* root = cp.if_contains("root");
  const auto* size = cp.if_contains("size");
  if (root == nullptr || !root->is_string() || size == nullptr || !size->is_int64()) {
    bad_record("the draw checkpoint needs \"root\" and \"size\"");
  }
  const auto& m = record.inputs.seed_materials;
  const auto it =
      std::find_if(m.begin(), m.end(), [](const auto& x) { return x.label == "draw_checkpoint"; });
  if (it == m.end() ||
      std::string(it->value.begin(), it->value.end()) != std::string(root->get_string())) {
    throw error(codes::draw_mismatch, where + "'s root is not the draw's draw_checkpoint input");
  }
  std::string out = "draw checkpoint: size " + std::to_string(size->get_int64()) +
                    ", its root is the draw's draw_checkpoint input";
  if (!key) return out + " (give --log-key to check its signature)";
  const auto* note_text = cp.if_contains("note");
  if (note_text == nullptr || !note_text->is_string())
    bad_record("the draw checkpoint has no note");
  const std::vector<crypto::note::verifier_key> known{*key};
  const auto opened = crypto::note::open(note_text->get_string(), known);
  const auto parsed = crypto::note::parse_checkpoint(opened.text);
  if (static_cast<std::int64_t>(parsed.size) != size->get_int64() ||
      crypto::base64_encode(parsed.root) != std::string(root->get_string())) {
    throw error(codes::draw_mismatch, where + "'s signed note is for another size or root");
  }
  return out + ", signed by the log's key";
}

int check_one(context& ctx, const fs::path& path, const std::string& text, bool as_json,
              const std::optional<json::object>& checkpoint, const log_key& key) {
  draw_record record;
  try {
    record = record_from_json(text);
  } catch (const error& e) {
    throw error(e.code(), path.string() + ": " + e.what());
  }
  const crypto::draw_result again =
      about_file(path, [&] { return crypto::run_draw(record.inputs); });
  if (!crypto::constant_time_equal(again.seed, record.seed)) {
    return report_invalid(ctx, as_json, codes::draw_mismatch,
                          path.string() +
                              ": the record's seed is not the hash of its inputs "
                              "(recomputed " +
                              crypto::to_hex(again.seed) + ")");
  }
  // Positions, not ids, in the message: the ids are in the record for whoever needs them.
  for (std::size_t i = 0; i < std::max(again.selected.size(), record.selected.size()); ++i) {
    if (i >= record.selected.size() || i >= again.selected.size() ||
        record.selected[i] != again.selected[i]) {
      return report_invalid(
          ctx, as_json, codes::draw_mismatch,
          path.string() + ": the record's selection differs from the recomputed one at position " +
              std::to_string(i + 1) + " (the record lists " +
              std::to_string(record.selected.size()) + " ids, the draw gives " +
              std::to_string(again.selected.size()) + ")");
    }
  }
  std::string cp_note;
  if (checkpoint) {
    try {
      cp_note = check_draw_checkpoint(path, record, *checkpoint, key);
    } catch (const error& e) {
      if (std::string_view(e.code()) != codes::draw_mismatch) throw;
      return report_invalid(ctx, as_json, e.code(), e.what());
    }
  }
  if (as_json) {
    json::array selected;
    for (const auto& s : again.selected)
      selected.push_back(json::value(s));
    json::object o{
        {"valid", true}, {"seed", crypto::to_hex(again.seed)}, {"selected", std::move(selected)}};
    if (checkpoint) o["draw_checkpoint"] = cp_note;
    ctx.out << json::serialize(o) << "\n";
  } else {
    ctx.out << "draw record OK: the seed and the selection of " << again.selected.size()
            << " (in order) match a recomputation from the record's inputs\n"
            << "seed: " << crypto::to_hex(again.seed) << "\n";
    if (checkpoint) ctx.out << cp_note << "\n";
  }
  return exit_ok;
}

int verify_draw(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()                                          //
      ("json", po::bool_switch(), "machine-readable output")  //
      ("log-key", po::value<std::string>()->value_name("KEY"),
       "the audit log's verifier key (or a file holding it), for draw checkpoints")  //
      ("record", po::value<std::vector<std::string>>()->value_name("FILE"), "the draw record");
  po::positional_options_description positional;
  positional.add("record", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, verify_draw_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("record") == 0u || (*vm)["record"].as<std::vector<std::string>>().size() != 1) {
    return usage_error(ctx, "give exactly one draw RECORD.json");
  }

  crypto::init();
  try {
    log_key key;
    if (vm->count("log-key") != 0u) {
      std::string text = (*vm)["log-key"].as<std::string>();
      std::error_code fec;
      if (fs::is_regular_file(text, fec)) text = read_file(text, 4096);
      key = crypto::note::parse_verifier_key(trim(text));
    }
    return check_record(ctx, (*vm)["record"].as<std::vector<std::string>>().front(), as_json, key);
  } catch (const crypto::error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  } catch (const error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  }
}

}  // namespace

void add_draw_commands(std::vector<command>& out) {
  out.push_back(
      {"draw", "run a verifiable draw (experts, supervisors, rates) and record it", draw});
  out.push_back(
      {"verify-draw", "recompute a draw record and check its seed and selection", verify_draw});
}

}  // namespace tender::cli
