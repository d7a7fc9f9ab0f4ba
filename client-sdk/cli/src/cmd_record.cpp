// tender record verify: checks a published opening record (开标记录, hall-protocol.md §12)
// offline: its digest, the audit log's signature on it and the confirmation signatures it can.

#include "command.hpp"
#include "io.hpp"

#include <tender/client/hall.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/canonical_json.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/json.hpp>

#include <filesystem>

namespace tender::cli {
namespace po = boost::program_options;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* verify_usage =
    R"U(tender record verify — check a published opening record (开标记录)

Usage:
  tender record verify FILE --log-key KEY [--json]

FILE is the record as served by GET /api/v1/tenders/{id}/opening-record:
{"record":{...},"digest":"...","note":"...","log_index":N}. Checks that
  1. digest is the SHA-256 of the record's canonical JSON,
  2. note is signed by the audit log's key KEY (a verifier key line as printed by
     `curl $SERVER/api/v1/log/key`, or a file holding it) and says
     "tenderhall opening record v1\n<tender id>\n<digest>\n",
  3. every bidder confirmation that carries its public key and challenge is a valid signature of
     the record digest (the others are counted as not checkable here).
Exit code 0 when all of this holds; 1 otherwise, naming the first failure.

Examples:
  tender record verify opening-record.json --log-key "$(curl -s $SERVER/api/v1/log/key)"
  tender record verify opening-record.json --log-key log-key.txt --json
)U";

[[noreturn]] void bad(const std::string& why) {
  throw error(codes::bad_input, "the opening record does not verify: " + why);
}

const json::object& object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_object()) bad("'" + std::string(key) + "' is not an object");
  return v->get_object();
}

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) bad("'" + std::string(key) + "' is not a string");
  return std::string(v->get_string());
}

int verify(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()                                                                         //
      ("log-key", po::value<std::string>()->value_name("KEY")->required(), "audit log key")  //
      ("json", po::bool_switch(), "machine-readable output")                                 //
      ("file", po::value<std::vector<std::string>>()->value_name("FILE"), "the record file");
  po::positional_options_description positional;
  positional.add("file", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, verify_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("file") == 0u || (*vm)["file"].as<std::vector<std::string>>().size() != 1) {
    return usage_error(ctx, "give exactly one record FILE");
  }
  crypto::init();
  try {
    const fs::path path = (*vm)["file"].as<std::vector<std::string>>().front();
    const std::string text = read_file(path, max_large_file);
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) bad("not a JSON object");
    const auto& file = v.get_object();
    const auto& record = object_at(file, "record");
    const std::string digest = string_at(file, "digest");
    const std::string computed = crypto::to_hex(crypto::sha256(crypto::canonical_json(record)));
    if (computed != digest) bad("digest " + digest + " but the record hashes to " + computed);

    std::string key_text = (*vm)["log-key"].as<std::string>();
    std::error_code fec;
    if (fs::is_regular_file(key_text, fec)) key_text = read_file(key_text, 4096);
    const auto key = crypto::note::parse_verifier_key(trim(key_text));
    const std::vector<crypto::note::verifier_key> known{key};
    const auto opened = crypto::note::open(string_at(file, "note"), known);
    const auto& tender = object_at(record, "tender");
    std::string tender_id;
    if (const auto* id = tender.if_contains("id"); id != nullptr && id->is_string()) {
      tender_id = std::string(id->get_string());
    } else {
      bad("the record names no tender id");
    }
    const std::string expected =
        "tenderhall opening record v1\n" + tender_id + "\n" + digest + "\n";
    if (opened.text != expected) bad("the signed note says something else than this record");

    // Confirmations: signatures of the record digest (hall-protocol.md §8).
    std::size_t checked = 0;
    std::size_t unchecked = 0;
    const std::string record_digest = string_at(record, "record_digest");
    if (const auto* c = record.if_contains("confirmations"); c != nullptr && c->is_array()) {
      for (const auto& row : c->get_array()) {
        if (!row.is_object()) bad("a confirmation is not an object");
        const auto& r = row.get_object();
        const auto* pk = r.if_contains("public_key");
        const auto* cid = r.if_contains("challenge_id");
        const auto* ch = r.if_contains("challenge");
        if (pk == nullptr || !pk->is_string() || cid == nullptr || !cid->is_string() ||
            ch == nullptr || !ch->is_string()) {
          ++unchecked;
          continue;
        }
        // The key as base64 DER (what the server records) or PEM.
        const std::string pem_or_der(pk->get_string());
        const auto pub = pem_or_der.rfind("-----BEGIN", 0) == 0
                             ? crypto::public_key::from_pem(pem_or_der)
                             : crypto::public_key::from_der(crypto::base64_decode(pem_or_der));
        const auto message = client::hall::signed_message(tender_id, "confirm", cid->get_string(),
                                                          ch->get_string(), record_digest);
        const auto sig = crypto::base64_decode(string_at(r, "signature"));
        if (!crypto::verify_message(pub, crypto::as_bytes(message), sig)) {
          bad("the confirmation of " + string_at(r, "org_id") + " is not a valid signature");
        }
        ++checked;
      }
    }
    if (as_json) {
      json::object o;
      o["valid"] = true;
      o["tender_id"] = tender_id;
      o["digest"] = digest;
      o["confirmations_checked"] = checked;
      o["confirmations_not_checkable"] = unchecked;
      ctx.out << json::serialize(o) << "\n";
    } else {
      ctx.out << "opening record of " << tender_id << ": valid\n"
              << "digest: " << digest << "\n"
              << "signed by the audit log key " << key.name << "\n"
              << "confirmations: " << checked << " signature(s) checked, " << unchecked
              << " not checkable offline\n";
    }
    return exit_ok;
  } catch (const crypto::error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  } catch (const error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  }
}

}  // namespace

void add_record_commands(std::vector<command>& out) {
  out.push_back(
      {"record verify", "check an opening record's digest and the log's signature", verify});
}

}  // namespace tender::cli
