// tender upload | withdraw | bid show | rehearse | verify-receipt | verify-seal: a bidder's
// submission (docs/SUBMISSION.md, protocol/docs/bid-receipt.md).

#include "command.hpp"
#include "io.hpp"
#include "sealed_files.hpp"

#include <tender/client/bids.hpp>
#include <tender/client/receipts.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/crypto/suite.hpp>
#include <tender/protocol/uri.hpp>
#include <tender/protocol/version.hpp>

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace json = boost::json;
namespace receipts = tender::client::receipts;
namespace bids = tender::client::bids;
namespace sealed = tender::crypto::sealed;

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

// ---- network commands: usage texts --------------------------------------------------------------

constexpr const char* upload_usage =
    R"(tender upload — upload a sealed bid, resumably, and keep its signed receipt

Usage:
  tender upload --tender T --lot N [--log-key VKEY | --log-key-file FILE] [--chunk-size BYTES]
                [--no-progress] [--restart] [--token-file F] [--json] FILE

Uploads the sealed bid FILE (made with `tender seal --tender T/N ...`: its tender id must be the
bid subject "T/N") to lot N of tender T with the tus 1.0 resumable upload protocol: the file is
sent in pieces (default 4 MiB) and the server acknowledges each one once it is on disk. Any size
works; memory use stays at one piece.

Resuming: before sending, the command writes FILE.upload.json (upload URL, tender, lot, size and
SHA-256 of the file). If the upload is interrupted (network loss, Ctrl-C, a closed laptop), run
the same command again: it asks the server how much it has and continues from there. Transient
network errors are retried (5 times, waiting 0.5 s to 8 s) before giving up. A changed file, or an
upload the server no longer knows (terminated, void at the deadline), starts a new upload;
--restart starts a new one anyway.

When the last byte arrives the server verifies the sealed file (structure, your signature, tender,
lot, bidder, key policy, escrow key) and records the bid, replacing your previous bid for the lot
if there was one (the last submission counts). The signed receipt is saved as FILE.receipt.json
and FILE.upload.json is removed. With --log-key the receipt is verified at once (see
`tender verify-receipt`). A refused file is reported with the server's code (bid.bad_signature,
bid.wrong_tender, bid.deadline_passed, upload.too_large, upload.quota_exceeded, ...).

Progress (bytes, rate, ETA) goes to stderr: a bar on a terminal, a line every few seconds
otherwise; --no-progress silences it. --json prints one JSON object at the end.
--stop-after BYTES (for testing) stops the run once BYTES more bytes are stored, as an
interruption would, and exits with code 1 and cli.upload_interrupted.

Examples:
  tender upload --tender t-0123456789abcdef --lot 1 bid.thsb
  tender upload --tender t-0123456789abcdef --lot 1 --log-key 'tenderhall/local+78efe2a7+AV7...' \
      --json bid.thsb
)";

constexpr const char* withdraw_usage =
    R"(tender withdraw — withdraw your organisation's bid for a lot (before the deadline)

Usage:
  tender withdraw --tender T --lot N [--token-file F] [--json]

The current bid stops counting; the withdrawal is an audit event. Uploading again before the
deadline makes a new current bid. After the deadline: bid.deadline_passed. Without a bid:
bid.not_found.

Examples:
  tender withdraw --tender t-0123456789abcdef --lot 1
)";

constexpr const char* bid_show_usage =
    R"(tender bid show — your organisation's current bid for a lot

Usage:
  tender bid show --tender T --lot N [--save-receipt FILE] [--token-file F] [--json]

Shows the current bid: digests, size, when it was received, its audit log index and whether the
decryption rehearsal was done. --save-receipt writes its signed receipt (for
`tender verify-receipt`). Without a current bid: bid.not_found.

Examples:
  tender bid show --tender t-0123456789abcdef --lot 1
  tender bid show --tender t-0123456789abcdef --lot 1 --save-receipt receipt.json --json
)";

constexpr const char* rehearse_usage =
    R"(tender rehearse — decryption rehearsal: prove your uploaded bid opens with your key

Usage:
  tender rehearse --tender T --lot N --key BIDDER_KEY.pem [--passphrase-file F] [--out FILE]
                  [--token-file F] [--json] FILE

Before the deadline, proves that the bid you uploaded can be opened with the key you hold, without
revealing anything: the command reads FILE's header (the sealed file you uploaded), unwraps your
part of the key with your private ENCRYPTION key (`tender keygen` NAME-encryption.pem), derives
the rehearsal signing key the sealer committed to in the header, asks the server for a challenge,
signs it and sends the signature. The server checks it against the rehearsal public key of your
current bid and answers with a signed "decryptable" confirmation (printed; --out saves it). The
hall shows who rehearsed.
Errors: sealed.wrong_key (the key opens no stanza of this file), bid.rehearsal_failed (FILE is not
the current bid), bid.not_found, bid.deadline_passed.

Examples:
  tender rehearse --tender t-0123456789abcdef --lot 1 --key keys/bidder-encryption.pem bid.thsb
)";

// ---- network commands: helpers ------------------------------------------------------------------

std::string saved_token(const po::variables_map& vm) {
  const auto path = session_token_path(vm);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw error(codes::io, "no session token at " + path.string() + "; run tender login first");
  }
  return std::string(trim(read_file(path, 4096)));
}

// --tender, --lot, --token-file, --json.
po::options_description lot_options() {
  po::options_description opts("Options");
  opts.add_options()                                                                  //
      ("tender", po::value<std::string>()->value_name("T")->required(), "tender id")  //
      ("lot", po::value<std::string>()->value_name("N")->required(), "lot number")    //
      ("token-file", po::value<std::string>()->value_name("F"),
       "session token file (default ~/.config/tenderhall/token)")  //
      ("json", po::bool_switch(), "machine-readable output");
  return opts;
}

int lot_of(const po::variables_map& vm) {
  const std::string text = vm["lot"].as<std::string>();
  const auto v = parse_u64(text);
  if (!v || *v == 0 || *v > static_cast<std::uint64_t>(INT_MAX)) {
    throw error(codes::bad_input, "--lot must be a lot number (1, 2, ...), got '" + text + "'");
  }
  return static_cast<int>(*v);
}

std::string client_version() {
  return "tender/" + std::string(protocol::product_version());
}

std::string human_bytes(double n) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (n >= 1024.0 && u < 4) {
    n /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
  return buf;
}

std::string clock_text(double seconds) {
  if (!(seconds >= 0.0) || seconds > 359999.0) return "--:--";
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

// Upload progress on stderr: a bar redrawn in place on a terminal, a plain line every few seconds
// otherwise (logs, CI). The rate counts the bytes sent by this run only.
class progress_meter {
public:
  progress_meter(std::ostream& err, bool enabled, std::uint64_t total, std::uint64_t start)
      : err_(err),
        enabled_(enabled),
        tty_(enabled && &err == &std::cerr && ::isatty(STDERR_FILENO) == 1),
        total_(total),
        start_bytes_(start),
        started_(clock::now()),
        last_(started_) {}

  void update(std::uint64_t done, bool final = false) {
    if (!enabled_) return;
    const auto now = clock::now();
    const auto since = now - last_;
    if (!final && since < (tty_ ? std::chrono::milliseconds(200) : std::chrono::seconds(5))) {
      return;
    }
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    const double sent = static_cast<double>(done - std::min(done, start_bytes_));
    const double rate = elapsed > 0.0 ? sent / elapsed : 0.0;
    const double left = static_cast<double>(total_ - std::min(total_, done));
    const double eta = rate > 0.0 ? left / rate : -1.0;
    const double fraction =
        total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3.0f%%", fraction * 100.0);
    const std::string figures =
        human_bytes(static_cast<double>(done)) + " / " + human_bytes(static_cast<double>(total_)) +
        "  " + human_bytes(rate) + "/s  " +
        (final ? "done in " + clock_text(elapsed) : "ETA " + clock_text(eta));
    if (tty_) {
      constexpr int width = 30;
      const int filled = static_cast<int>(fraction * width);
      err_ << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
           << std::string(static_cast<std::size_t>(width - filled), ' ') << "] " << pct << "  "
           << figures << "   " << (final ? "\n" : "") << std::flush;
    } else {
      err_ << "upload: " << pct << "  " << figures << "\n" << std::flush;
    }
  }

private:
  using clock = std::chrono::steady_clock;
  std::ostream& err_;
  bool enabled_;
  bool tty_;
  std::uint64_t total_;
  std::uint64_t start_bytes_;
  clock::time_point started_;
  clock::time_point last_;
};

// SHA-256 and size of a file, read once in 1 MiB blocks.
std::pair<std::string, std::uint64_t> file_sha256(const fs::path& path) {
  std::ifstream in = open_input(path);
  auto hasher = crypto::get_suite(crypto::suite_id::sodium).make_hasher();
  std::vector<char> buf(std::size_t{1} << 20);
  std::uint64_t total = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    hasher->update(crypto::as_bytes(std::string_view(buf.data(), n)));
    total += n;
  }
  if (in.bad()) throw error(codes::io, "cannot read " + path.string());
  return {crypto::hex_encode(hasher->finish()), total};
}

// FILE.upload.json: what is needed to resume.
struct upload_state {
  std::string server;
  std::string tender;
  int lot = 0;
  std::uint64_t size = 0;
  std::string sha256;
  std::string upload_id;
  std::string upload_url;
};

constexpr std::string_view state_format = "tenderhall-upload-state/v1";

std::optional<upload_state> read_state(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  const std::string text = read_file(path, max_small_file);
  boost::system::error_code jec;
  const auto v = json::parse(text, jec);
  const auto* o = jec ? nullptr : v.if_object();
  try {
    if (o == nullptr || o->at("format").as_string() != state_format) throw std::exception();
    upload_state s;
    s.server = std::string(o->at("server").as_string());
    s.tender = std::string(o->at("tender").as_string());
    s.lot = static_cast<int>(o->at("lot").to_number<std::int64_t>());
    s.size = o->at("size").to_number<std::uint64_t>();
    s.sha256 = std::string(o->at("sha256").as_string());
    s.upload_id = std::string(o->at("upload_id").as_string());
    s.upload_url = std::string(o->at("upload_url").as_string());
    return s;
  } catch (const std::exception&) {
    throw error(codes::bad_input,
                path.string() + ": not an upload state file; remove it or use --restart");
  }
}

void write_state(const fs::path& path, const upload_state& s) {
  const json::object o{{"format", state_format},   {"server", s.server},
                       {"tender", s.tender},       {"lot", s.lot},
                       {"size", s.size},           {"sha256", s.sha256},
                       {"upload_id", s.upload_id}, {"upload_url", s.upload_url}};
  write_file(path, json::serialize(o) + "\n", {true, false});
}

bool transient(const client::error& e) {
  return e.code() == "client.connect_failed" || e.code() == "client.timeout" ||
         (e.code() == "client.bad_response" && e.http_status() == 0) || e.http_status() == 502 ||
         e.http_status() == 503 || e.http_status() == 504;
}

// The value of "<key> <value>" in a receipt note's text (unverified: for display only).
std::string note_value(const std::string& note_text, std::string_view key) {
  try {
    const auto parsed = crypto::note::parse(note_text);
    const std::string prefix = std::string(key) + " ";
    std::string_view t = parsed.text;
    while (!t.empty()) {
      const auto nl = t.find('\n');
      const auto line = t.substr(0, nl);
      if (line.substr(0, prefix.size()) == prefix) return std::string(line.substr(prefix.size()));
      if (nl == std::string_view::npos) break;
      t.remove_prefix(nl + 1);
    }
  } catch (const crypto::error&) {
  }
  return {};
}

// ---- upload -------------------------------------------------------------------------------------

int upload(context& ctx, const std::vector<std::string>& args) {
  auto opts = lot_options();
  add_log_key_options(opts);
  opts.add_options()  //
      ("chunk-size", po::value<std::string>()->value_name("BYTES"),
       "bytes per PATCH (default 4194304)")                                    //
      ("no-progress", po::bool_switch(), "no progress output on stderr")       //
      ("restart", po::bool_switch(), "ignore FILE.upload.json: a new upload")  //
      ("stop-after", po::value<std::string>()->value_name("BYTES"),
       "testing: stop (as if interrupted) once BYTES more bytes are stored")  //
      ("file", po::value<std::vector<std::string>>()->value_name("FILE"), "the sealed bid file");
  po::positional_options_description positional;
  positional.add("file", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, upload_usage, opts, positional, code);
  if (!vm) return code;
  if (vm->count("file") == 0u || (*vm)["file"].as<std::vector<std::string>>().size() != 1) {
    return usage_error(ctx, "give exactly one sealed FILE");
  }
  std::size_t chunk = std::size_t{4} << 20;
  if (vm->count("chunk-size") != 0u) {
    const auto v = parse_u64((*vm)["chunk-size"].as<std::string>());
    if (!v || *v == 0 || *v > (std::uint64_t{256} << 20)) {
      return usage_error(ctx, "--chunk-size takes 1 to 268435456 bytes");
    }
    chunk = static_cast<std::size_t>(*v);
  }
  std::optional<std::uint64_t> stop_after;
  if (vm->count("stop-after") != 0u) {
    stop_after = parse_u64((*vm)["stop-after"].as<std::string>());
    if (!stop_after || *stop_after == 0) return usage_error(ctx, "--stop-after takes a byte count");
  }
  const bool as_json = json_output(ctx, *vm);
  const std::string tender = (*vm)["tender"].as<std::string>();
  const int lot = lot_of(*vm);
  const fs::path file = (*vm)["file"].as<std::vector<std::string>>().front();
  const fs::path state_path = file.string() + ".upload.json";
  const fs::path receipt_path = file.string() + ".receipt.json";
  const std::vector<std::string> keys =
      has_log_keys(*vm) ? log_keys(*vm) : std::vector<std::string>{};
  crypto::init();

  // The file must be a sealed bid for this lot: say so now rather than after the upload.
  const auto header = read_sealed_header(file);
  const std::string subject = bids::subject(tender, lot);
  if (header.tender_id != subject) {
    throw error("bid.wrong_tender", file.string() + " is sealed for '" + header.tender_id +
                                        "', not for " + subject + " (seal it with --tender " +
                                        subject + ")");
  }
  const auto [sha256, size] = file_sha256(file);

  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  std::optional<upload_state> state;
  if (!(*vm)["restart"].as<bool>()) state = read_state(state_path);
  std::uint64_t offset = 0;
  bool resumed = false;
  if (state) {
    if (state->server != ctx.server || state->tender != tender || state->lot != lot ||
        state->size != size || state->sha256 != sha256) {
      ctx.err << "tender: " << state_path.string()
              << " is for another file, lot or server; starting a new upload\n";
      state.reset();
    } else {
      try {
        offset = bids::head(c, state->upload_id).offset;
        resumed = true;
        ctx.err << "tender: resuming upload " << state->upload_id << " at byte " << offset << " of "
                << size << "\n";
      } catch (const client::error& e) {
        if (e.code() != "upload.gone" && e.code() != "upload.not_found") throw;
        ctx.err << "tender: the server no longer has upload " << state->upload_id << " ("
                << e.code() << "); starting a new upload\n";
        state.reset();
      }
    }
  }
  if (!state) {
    const auto created =
        bids::create_upload(c, tender, lot, size, file.filename().string(), client_version());
    state =
        upload_state{ctx.server, tender, lot, size, sha256, created.upload_id, created.location};
    write_state(state_path, *state);
    offset = created.offset;
  }
  const std::uint64_t resumed_from = offset;
  const std::string upload_id = state->upload_id;

  // A refusal that ends this upload for good: the state file is of no use any more.
  const auto finished_badly = [&](const client::error& e) {
    if (e.code().rfind("bid.", 0) == 0 || e.code() == "upload.gone" ||
        e.code() == "upload.not_found" || e.code() == "upload.too_large") {
      std::error_code ec;
      fs::remove(state_path, ec);
    }
  };

  progress_meter meter(ctx.err, !(*vm)["no-progress"].as<bool>(), size, offset);
  meter.update(offset);
  std::ifstream in = open_input(file);
  std::string piece;
  bool complete = false;
  int failures = 0;
  const std::uint64_t stop_at = stop_after ? std::min(size, offset + *stop_after) : size;
  while (!complete) {
    if (offset >= size) {
      // Everything is stored (a completing PATCH whose answer was lost): the receipt tells.
      complete = true;
      break;
    }
    if (offset >= stop_at) {
      meter.update(offset, true);
      throw error("cli.upload_interrupted",
                  "stopped after " + std::to_string(offset - resumed_from) +
                      " bytes (--stop-after); " + std::to_string(offset) + " of " +
                      std::to_string(size) +
                      " bytes are stored; run the same command again to resume");
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, stop_at - offset));
    piece.resize(n);
    in.clear();
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(piece.data(), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in.gcount()) != n) {
      throw error(codes::io, "cannot read " + file.string() + " (did it shrink?)");
    }
    try {
      const auto r = bids::patch(c, upload_id, offset, piece);
      offset = r.offset;
      failures = 0;
      if (r.receipt_location) complete = true;
      meter.update(offset, complete);
    } catch (const client::error& e) {
      if (e.code() == "upload.offset_mismatch") {
        // The server stored more than we knew (an earlier answer was lost), or an earlier PATCH
        // of this upload is still in progress there: follow the server's offset, and wait a
        // little when it has not moved.
        const auto server_offset = bids::head(c, upload_id).offset;
        if (server_offset == offset) {
          if (failures >= 8) throw;
          const auto wait = std::chrono::milliseconds(250 << std::min(failures, 4));
          ++failures;
          std::this_thread::sleep_for(wait);
        }
        offset = server_offset;
        continue;
      }
      if (!transient(e) || failures >= 5) {
        finished_badly(e);
        throw;
      }
      const auto wait = std::chrono::milliseconds(500 << failures);
      ++failures;
      ctx.err << "\ntender: " << e.what() << " [" << e.code() << "]; retrying in " << wait.count()
              << " ms\n";
      std::this_thread::sleep_for(wait);
      try {
        offset = bids::head(c, upload_id).offset;
      } catch (const client::error& again) {
        if (!transient(again)) {
          finished_badly(again);
          throw;
        }
      }
    }
  }

  const auto receipt = bids::get_receipt(c, upload_id);
  write_file(receipt_path, receipt.json, {true, false});
  std::error_code ec;
  fs::remove(state_path, ec);
  std::optional<receipts::verified_receipt> verified;
  if (!keys.empty()) {
    try {
      verified = receipts::verify_receipt(receipt.json, keys, std::nullopt);
    } catch (const protocol::coded_error& e) {
      return report_invalid(
          ctx, as_json, e.code(),
          "the bid was recorded but its receipt does not verify: " + std::string(e.what()));
    }
  }
  const std::string ciphertext_digest = note_value(receipt.note, "ciphertext-digest");
  const std::string received_at = note_value(receipt.note, "received-at");
  if (as_json) {
    ctx.out << json::serialize(json::object{{"upload_id", upload_id},
                                            {"tender_id", tender},
                                            {"lot", lot},
                                            {"file", file.string()},
                                            {"size", size},
                                            {"sha256", sha256},
                                            {"ciphertext_digest", ciphertext_digest},
                                            {"received_at", received_at},
                                            {"log_index", receipt.log_index},
                                            {"resumed", resumed},
                                            {"resumed_from", resumed_from},
                                            {"receipt_file", receipt_path.string()},
                                            {"receipt_verified", verified.has_value()}})
            << "\n";
    return exit_ok;
  }
  ctx.out << "bid recorded for " << subject << ": " << file.string() << " (" << size << " bytes)\n"
          << "  upload             " << upload_id
          << (resumed ? " (resumed at byte " + std::to_string(resumed_from) + ")" : "") << "\n"
          << "  ciphertext digest  " << ciphertext_digest << "\n"
          << "  file SHA-256       " << sha256 << "\n"
          << "  received at        " << received_at << "\n"
          << "  audit event        " << receipt.log_index << "\n"
          << "  receipt            " << receipt_path.string()
          << (verified ? " (verified with the log key)" : "") << "\n";
  return exit_ok;
}

// ---- withdraw, bid show -------------------------------------------------------------------------

int withdraw(context& ctx, const std::vector<std::string>& args) {
  int code = 0;
  auto vm = parse_command_args(ctx, args, withdraw_usage, lot_options(), {}, code);
  if (!vm) return code;
  const std::string tender = (*vm)["tender"].as<std::string>();
  const int lot = lot_of(*vm);
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto w = bids::withdraw(c, tender, lot);
  if (json_output(ctx, *vm)) {
    ctx.out << json::serialize(json::object{{"tender_id", tender},
                                            {"lot", lot},
                                            {"withdrawn_at", w.withdrawn_at},
                                            {"log_index", w.log_index}})
            << "\n";
  } else {
    ctx.out << "bid for " << bids::subject(tender, lot) << " withdrawn at " << w.withdrawn_at
            << " (audit event " << w.log_index << ")\n";
  }
  return exit_ok;
}

int bid_show(context& ctx, const std::vector<std::string>& args) {
  auto opts = lot_options();
  opts.add_options()("save-receipt", po::value<std::string>()->value_name("FILE"),
                     "write the bid's signed receipt to FILE");
  int code = 0;
  auto vm = parse_command_args(ctx, args, bid_show_usage, opts, {}, code);
  if (!vm) return code;
  const std::string tender = (*vm)["tender"].as<std::string>();
  const int lot = lot_of(*vm);
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto b = bids::mine(c, tender, lot);
  if (vm->count("save-receipt") != 0u) {
    write_file((*vm)["save-receipt"].as<std::string>(), b.bid_receipt.json, {true, false});
  }
  if (json_output(ctx, *vm)) {
    boost::system::error_code ec;
    json::value receipt = json::parse(b.bid_receipt.json, ec);
    if (ec) receipt = nullptr;
    ctx.out << json::serialize(json::object{{"bid_id", b.bid_id},
                                            {"tender_id", b.tender_id},
                                            {"lot", b.lot},
                                            {"status", b.status},
                                            {"upload_id", b.upload_id},
                                            {"file_digest", b.file_digest},
                                            {"ciphertext_digest", b.ciphertext_digest},
                                            {"size", b.size},
                                            {"received_at", b.received_at},
                                            {"log_index", b.log_index},
                                            {"rehearsed", b.rehearsed},
                                            {"rehearsed_at", opt_json(b.rehearsed_at)},
                                            {"receipt", std::move(receipt)}})
            << "\n";
    return exit_ok;
  }
  ctx.out << "bid for " << bids::subject(b.tender_id, b.lot) << ": " << b.status << "\n"
          << "  upload             " << b.upload_id << "\n"
          << "  ciphertext digest  " << b.ciphertext_digest << "\n"
          << "  file SHA-256       " << b.file_digest << "\n"
          << "  size               " << b.size << " bytes\n"
          << "  received at        " << b.received_at << "\n"
          << "  audit event        " << b.log_index << "\n"
          << "  rehearsed          "
          << (b.rehearsed ? "yes, at " + b.rehearsed_at.value_or("?") : std::string("no")) << "\n";
  return exit_ok;
}

// ---- rehearse -----------------------------------------------------------------------------------

crypto::secure_bytes read_passphrase(const fs::path& path) {
  crypto::secure_bytes raw = read_secret_file(path, 4096);
  std::size_t n = 0;
  while (n < raw.size() && raw.data()[n] != '\n' && raw.data()[n] != '\r')
    ++n;
  if (n == 0) throw error(codes::bad_input, path.string() + ": the passphrase is empty");
  return crypto::secure_bytes(raw.view().first(n));
}

std::string_view text_of(const crypto::secure_bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

int rehearse(context& ctx, const std::vector<std::string>& args) {
  auto opts = lot_options();
  opts.add_options()  //
      ("key", po::value<std::string>()->value_name("BIDDER_KEY.pem")->required(),
       "your private encryption key (PKCS#8 PEM)")  //
      ("passphrase-file", po::value<std::string>()->value_name("F"),
       "passphrase of an encrypted key (first line)")                                      //
      ("out", po::value<std::string>()->value_name("FILE"), "save the confirmation note")  //
      ("file", po::value<std::vector<std::string>>()->value_name("FILE"), "the sealed bid file");
  po::positional_options_description positional;
  positional.add("file", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, rehearse_usage, opts, positional, code);
  if (!vm) return code;
  if (vm->count("file") == 0u || (*vm)["file"].as<std::vector<std::string>>().size() != 1) {
    return usage_error(ctx, "give exactly one sealed FILE (the one you uploaded)");
  }
  const std::string tender = (*vm)["tender"].as<std::string>();
  const int lot = lot_of(*vm);
  const fs::path file = (*vm)["file"].as<std::vector<std::string>>().front();
  crypto::init();

  // Everything local first: a wrong key or file fails before any request.
  const auto header = read_sealed_header(file);
  const fs::path key_path = (*vm)["key"].as<std::string>();
  std::optional<crypto::secure_bytes> passphrase;
  if (vm->count("passphrase-file") != 0u) {
    passphrase = read_passphrase((*vm)["passphrase-file"].as<std::string>());
  }
  const crypto::secure_bytes pem = read_secret_file(key_path, max_small_file);
  const auto key = about_file(key_path, [&] {
    if (passphrase) return crypto::private_key::from_pem(text_of(pem), text_of(*passphrase));
    return crypto::private_key::from_pem(text_of(pem));
  });
  const auto unwrapped = about_file(file, [&] { return sealed::unwrap_bidder(header, key); });
  const auto rehearsal_key =
      about_file(file, [&] { return sealed::derive_rehearsal_key(header, unwrapped.key.view()); });

  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto challenge = bids::rehearsal_challenge_for(c, tender, lot);
  const auto signature =
      sealed::sign_rehearsal(rehearsal_key, crypto::as_bytes(challenge.challenge));
  const std::string_view signature_text(reinterpret_cast<const char*>(signature.data()),
                                        signature.size());
  const auto confirmed =
      bids::confirm_rehearsal(c, tender, lot, challenge.challenge_id, signature_text);
  if (vm->count("out") != 0u) {
    write_file((*vm)["out"].as<std::string>(), confirmed.confirmation, {true, false});
  }
  if (json_output(ctx, *vm)) {
    ctx.out << json::serialize(json::object{{"tender_id", tender},
                                            {"lot", lot},
                                            {"rehearsed_at", confirmed.rehearsed_at},
                                            {"log_index", confirmed.log_index},
                                            {"confirmation", confirmed.confirmation}})
            << "\n";
    return exit_ok;
  }
  ctx.out << "rehearsal confirmed for " << bids::subject(tender, lot) << " at "
          << confirmed.rehearsed_at << " (audit event " << confirmed.log_index
          << "): the bid opens with your key\n\n"
          << confirmed.confirmation;
  return exit_ok;
}

}  // namespace

void add_bid_commands(std::vector<command>& out) {
  out.push_back({"upload", "upload a sealed bid (resumable, progress, saves the receipt)", upload});
  out.push_back({"withdraw", "withdraw your bid for a lot before the deadline", withdraw});
  out.push_back({"bid show", "your current bid for a lot (digests, receipt, rehearsal)", bid_show});
  out.push_back(
      {"rehearse", "decryption rehearsal: prove your uploaded bid opens with your key", rehearse});
  out.push_back({"verify-receipt", "check a bid receipt offline (log key; optionally the file)",
                 verify_receipt});
  out.push_back(
      {"verify-seal", "check a lot's deadline seal and that your bid is in it", verify_seal});
}

}  // namespace tender::cli
