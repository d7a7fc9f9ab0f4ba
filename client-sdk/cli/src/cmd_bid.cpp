// tender upload | withdraw | bid show | rehearse | verify-receipt | verify-seal: a bidder's
// submission (docs/SUBMISSION.md, protocol/docs/bid-receipt.md).

#include "command.hpp"
#include "io.hpp"

#include <tender/client/receipts.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/protocol/uri.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace json = boost::json;
namespace receipts = tender::client::receipts;

namespace {

// ---- usage texts --------------------------------------------------------------------------------

constexpr const char* verify_receipt_usage =
    R"(tender verify-receipt — check a bid receipt offline

Usage:
  tender verify-receipt RECEIPT (--log-key VKEY... | --log-key-file FILE) [--sealed FILE] [--json]

RECEIPT is the JSON receipt the server returned when your upload completed (`tender upload`
saves it next to the file as FILE.receipt.json). No network is used. The command checks, with
the audit log's verifier key (`GET /api/v1/log/key`; get it from the operator too):
  1. the receipt note is signed by the log key and states tender/lot, bidder, upload, ciphertext
     digest, file digest, size, time received and log index;
  2. the checkpoint is signed by the log key;
  3. the audit-log leaf is the `bid.submitted` event of that bid at that log index;
  4. SHA-256 of the payload is the leaf's payload digest, and the payload says what the note says;
  5. the inclusion proof leads from the leaf to the checkpoint's root;
  6. with --sealed: the file's SHA-256, its ciphertext digest (recomputed, with the bidder's
     signature checked) and its size are the receipt's.
Exit code 0 and `receipt VALID ...`, or 1 with a code: receipt.malformed, receipt.bad_signature,
receipt.bad_checkpoint, receipt.leaf_mismatch, receipt.payload_mismatch, receipt.proof_mismatch,
receipt.file_mismatch, or sealed.* when the --sealed file is not a valid sealed bid.
The formats are described in protocol/docs/bid-receipt.md.

Examples:
  tender verify-receipt bid.thsb.receipt.json --log-key 'tenderhall/local+78efe2a7+AV7im2...'
  tender verify-receipt bid.thsb.receipt.json --log-key-file log-key.txt --sealed bid.thsb --json
)";

constexpr const char* verify_seal_usage =
    R"(tender verify-seal — check a lot's deadline seal and find your bid in it

Usage:
  tender verify-seal (SEAL | --tender T --lot N) (--log-key VKEY... | --log-key-file FILE)
                     [--sealed FILE | --digest HEX] [--out FILE] [--json]

At the deadline the server seals each lot's bid set: a note signed with the audit log key over the
count and the RFC 6962 Merkle root of the sorted ciphertext digests of the current bids (no
identities). SEAL is that document as `GET /api/v1/tenders/T/lots/N/bid-seal` returns it; with
--tender and --lot it is fetched from the server (public after the deadline; --out saves it).
The command checks that the note is signed by the log key and states the document's subject,
deadline, count and root, that count digests are listed in ascending order, and that they give
the root. With --sealed (your sealed bid file: its ciphertext digest is recomputed) or --digest
(a ciphertext digest, 64 hex digits, as `tender upload` and `tender seal` print it) it also checks
that your bid is one of them.
Exit code 0 and `seal VALID ...`, or 1 with a code: seal.malformed, seal.bad_signature,
seal.note_mismatch, seal.count_mismatch, seal.not_sorted, seal.root_mismatch, seal.not_included,
or the server's code when fetching fails (e.g. before the deadline there is no seal yet).

Examples:
  tender verify-seal --tender t-0123456789abcdef --lot 1 --log-key 'tenderhall/local+78efe2a7+AV7...' \
      --sealed bid.thsb
  tender verify-seal seal.json --log-key-file log-key.txt --digest 3f1c...9a0b --json
)";

// ---- helpers ------------------------------------------------------------------------------------

void add_log_key_options(po::options_description& opts) {
  opts.add_options()  //
      ("log-key", po::value<std::vector<std::string>>()->value_name("VKEY")->composing(),
       "the audit log's verifier key <name>+<id>+<base64> (repeatable)")  //
      ("log-key-file", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
       "file of verifier keys, one per line (# comments)");
}

bool has_log_keys(const po::variables_map& vm) {
  return vm.count("log-key") != 0u || vm.count("log-key-file") != 0u;
}

std::vector<std::string> log_keys(const po::variables_map& vm) {
  std::vector<std::string> keys;
  if (vm.count("log-key") != 0u) {
    for (const auto& k : vm["log-key"].as<std::vector<std::string>>())
      keys.emplace_back(trim(k));
  }
  if (vm.count("log-key-file") != 0u) {
    for (const auto& f : vm["log-key-file"].as<std::vector<std::string>>()) {
      const std::string text = read_file(f, max_small_file);
      for (const auto& line : split_lines(text)) {
        const std::string_view k = trim(line);
        if (!k.empty() && k.front() != '#') keys.emplace_back(k);
      }
    }
  }
  return keys;
}

bool json_output(const context& ctx, const po::variables_map& vm) {
  return ctx.json || vm["json"].as<bool>();
}

json::value opt_json(const std::optional<std::string>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

// ---- verify-receipt -----------------------------------------------------------------------------

int verify_receipt(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  add_log_key_options(opts);
  opts.add_options()                                                                           //
      ("sealed", po::value<std::string>()->value_name("FILE"), "also check this sealed file")  //
      ("json", po::bool_switch(), "machine-readable output")                                   //
      ("receipt", po::value<std::vector<std::string>>()->value_name("RECEIPT"), "the receipt");
  po::positional_options_description positional;
  positional.add("receipt", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, verify_receipt_usage, opts, positional, code);
  if (!vm) return code;
  if (vm->count("receipt") == 0u || (*vm)["receipt"].as<std::vector<std::string>>().size() != 1) {
    return usage_error(ctx, "give exactly one RECEIPT file");
  }
  if (!has_log_keys(*vm)) {
    return usage_error(ctx, "give the audit log's verifier key (--log-key or --log-key-file)");
  }
  const bool as_json = json_output(ctx, *vm);
  const fs::path path = (*vm)["receipt"].as<std::vector<std::string>>().front();
  const std::string text = read_file(path, max_small_file);
  const auto keys = log_keys(*vm);
  crypto::init();

  receipts::verified_receipt v;
  std::optional<fs::path> sealed;
  if (vm->count("sealed") != 0u) sealed = (*vm)["sealed"].as<std::string>();
  try {
    std::optional<receipts::sealed_file_facts> facts;
    if (sealed) facts = about_file(*sealed, [&] { return receipts::examine_sealed_file(*sealed); });
    v = receipts::verify_receipt(text, keys, facts);
  } catch (const protocol::coded_error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  }
  const auto& f = v.facts;
  if (as_json) {
    ctx.out << json::serialize(
                   json::object{{"valid", true},
                                {"subject", f.subject},
                                {"tender_id", f.tender_id},
                                {"lot", f.lot},
                                {"bidder", f.bidder},
                                {"upload_id", f.upload_id},
                                {"ciphertext_digest", f.ciphertext_digest},
                                {"file_digest", f.file_digest},
                                {"size", f.size},
                                {"received_at", f.received_at},
                                {"log_index", f.log_index},
                                {"actor", v.actor},
                                {"source_ip", opt_json(v.source_ip)},
                                {"client_version", opt_json(v.client_version)},
                                {"signer", v.signer},
                                {"checkpoint", json::object{{"origin", v.checkpoint_origin},
                                                            {"size", v.checkpoint_size},
                                                            {"root", v.checkpoint_root}}},
                                {"file_checked", sealed.has_value()}})
            << "\n";
    return exit_ok;
  }
  ctx.out << "receipt VALID: bid of " << f.bidder << " for " << f.subject << "\n"
          << "  upload             " << f.upload_id << " (by " << v.actor << ")\n"
          << "  ciphertext digest  " << f.ciphertext_digest << "\n"
          << "  file SHA-256       " << f.file_digest << "\n"
          << "  size               " << f.size << " bytes\n"
          << "  received at        " << f.received_at << "\n"
          << "  audit event        " << f.log_index << ", in the checkpoint of "
          << v.checkpoint_size << " events of " << v.checkpoint_origin << "\n"
          << "  signed by          " << v.signer << "\n";
  if (sealed) {
    ctx.out << "  sealed file        " << sealed->string() << " is the file received\n";
  }
  return exit_ok;
}

// ---- verify-seal --------------------------------------------------------------------------------

std::string lot_path(const std::string& tender, std::uint64_t lot) {
  return "/api/v1/tenders/" + protocol::percent_encode(tender) + "/lots/" + std::to_string(lot);
}

int verify_seal(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  add_log_key_options(opts);
  opts.add_options()                                                                       //
      ("tender", po::value<std::string>()->value_name("T"), "fetch the seal of tender T")  //
      ("lot", po::value<std::string>()->value_name("N"), "... lot N")                      //
      ("out", po::value<std::string>()->value_name("FILE"), "save the fetched seal")       //
      ("sealed", po::value<std::string>()->value_name("FILE"),
       "your sealed bid file: check it is in the seal")  //
      ("digest", po::value<std::string>()->value_name("HEX"),
       "a ciphertext digest: check it is in the seal")        //
      ("json", po::bool_switch(), "machine-readable output")  //
      ("seal", po::value<std::vector<std::string>>()->value_name("SEAL"), "the seal document");
  po::positional_options_description positional;
  positional.add("seal", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, verify_seal_usage, opts, positional, code);
  if (!vm) return code;
  const bool from_file = vm->count("seal") != 0u;
  const bool from_server = vm->count("tender") != 0u || vm->count("lot") != 0u;
  if (from_file == from_server) {
    return usage_error(ctx, "give either a SEAL file or --tender T --lot N");
  }
  if (from_file && (*vm)["seal"].as<std::vector<std::string>>().size() != 1) {
    return usage_error(ctx, "give exactly one SEAL file");
  }
  if (from_server && (vm->count("tender") == 0u || vm->count("lot") == 0u)) {
    return usage_error(ctx, "--tender and --lot go together");
  }
  if (from_file && vm->count("out") != 0u) return usage_error(ctx, "--out saves a fetched seal");
  if (vm->count("sealed") != 0u && vm->count("digest") != 0u) {
    return usage_error(ctx, "give --sealed or --digest, not both");
  }
  if (!has_log_keys(*vm)) {
    return usage_error(ctx, "give the audit log's verifier key (--log-key or --log-key-file)");
  }
  std::optional<std::uint64_t> lot;
  if (from_server) {
    lot = parse_u64((*vm)["lot"].as<std::string>());
    if (!lot || *lot == 0) return usage_error(ctx, "--lot takes a lot number (1, 2, ...)");
  }
  const bool as_json = json_output(ctx, *vm);
  const auto keys = log_keys(*vm);
  crypto::init();

  std::string text;
  if (from_file) {
    text = read_file((*vm)["seal"].as<std::vector<std::string>>().front(), max_large_file);
  } else {
    auto c = ctx.make_client();
    const auto r =
        c.request("GET", lot_path((*vm)["tender"].as<std::string>(), *lot) + "/bid-seal");
    client::expect_status(r, 200);
    text = r.body;
    if (vm->count("out") != 0u) write_file((*vm)["out"].as<std::string>(), text, {true, false});
  }

  receipts::verified_seal v;
  std::optional<std::string> digest;
  try {
    if (vm->count("digest") != 0u) digest = std::string(trim((*vm)["digest"].as<std::string>()));
    if (vm->count("sealed") != 0u) {
      const fs::path sealed = (*vm)["sealed"].as<std::string>();
      digest = about_file(sealed, [&] {
                 return receipts::examine_sealed_file(sealed);
               }).ciphertext_digest;
    }
    v = receipts::verify_seal(text, keys, digest);
  } catch (const protocol::coded_error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  }
  if (as_json) {
    json::object o{
        {"valid", true},  {"subject", v.subject}, {"deadline", v.deadline},    {"count", v.count},
        {"root", v.root}, {"signer", v.signer},   {"digest", opt_json(digest)}};
    if (digest) {
      o["included"] = true;
      o["position"] = *v.position;
    }
    ctx.out << json::serialize(o) << "\n";
    return exit_ok;
  }
  ctx.out << "seal VALID: " << v.subject << " sealed at " << v.deadline << ", " << v.count
          << (v.count == 1 ? " bid" : " bids") << ", root " << v.root << ", signed by " << v.signer
          << "\n";
  if (digest) {
    ctx.out << "  your bid " << *digest << " is sealed bid " << (*v.position + 1) << " of "
            << v.count << "\n";
  }
  return exit_ok;
}

}  // namespace

void add_bid_commands(std::vector<command>& out) {
  out.push_back({"verify-receipt", "check a bid receipt offline (log key; optionally the file)",
                 verify_receipt});
  out.push_back(
      {"verify-seal", "check a lot's deadline seal and that your bid is in it", verify_seal});
}

}  // namespace tender::cli
