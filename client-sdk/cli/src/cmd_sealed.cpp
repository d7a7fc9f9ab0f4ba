// tender keygen | seal | inspect | verify | open | backup-check — the bidder's side of sealed bids
// (and the escrow opening of one), all on local files. tender::crypto::sealed does the format;
// these commands add key files, safe output files, progress and readable reports.

#include "command.hpp"
#include "io.hpp"
#include "sealed_files.hpp"

#include <tender/crypto/escrow.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/suite.hpp>
#include <tender/crypto/x509.hpp>

#include <boost/json.hpp>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <streambuf>
#include <system_error>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace sealed = crypto::sealed;
namespace esc = crypto::escrow;
namespace x509 = crypto::x509;
namespace json = boost::json;

namespace {

// ---- usage texts --------------------------------------------------------------------------------

constexpr const char* keygen_usage =
    R"(tender keygen — make a bidder's key pairs for sealing bids

Usage:
  tender keygen --suite sodium|gm --out-dir DIR [--name NAME] [--passphrase-file FILE]
                [--force] [--json]

A bidder needs two key pairs: an ENCRYPTION key, to which the bid's file key is wrapped (only its
holder can open the bid), and a SIGNING key, with which the sealed file is signed (the server checks
the signature at upload). The suite decides the algorithms:
  sodium   X25519 (encryption) and Ed25519 (signing)
  gm       SM2 (encryption) and SM2 (signing), two separate keys as CA practice has it (国密)
Writes to DIR (created if missing), NAME defaulting to "bidder":
  NAME-encryption.pem       private encryption key, PKCS#8 PEM, mode 0600 — keep it secret
  NAME-encryption.pub.pem   public encryption key (give it to `tender seal --recipient`)
  NAME-signing.pem          private signing key, PKCS#8 PEM, mode 0600 (`tender seal --sign-key`)
  NAME-signing.pub.pem      public signing key (for `tender verify --signer`)
All are standard files that `openssl pkey` reads. With --passphrase-file the private keys are
encrypted (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) with the passphrase in FILE (its first line).
Existing files are never replaced unless --force is given. Prints each key's fingerprint: the
SHA-256 of its DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER | sha256sum`).

Examples:
  tender keygen --suite sodium --out-dir keys/
  tender keygen --suite gm --name acme --out-dir /media/usb/keys --passphrase-file pass.txt --json
)";

constexpr const char* seal_usage =
    R"(tender seal — seal a bid file for a tender

Usage:
  tender seal --suite sodium|gm --tender ID --bidder ID
              --policy bidder|bidder-or-escrow|bidder-and-escrow
              --recipient PUB.pem [--recipient PUB.pem ...] --sign-key KEY.pem
              [--sign-cert CERT.pem] [--passphrase-file FILE] [--escrow escrow-public.json]
              --summary SUMMARY.json [--backup FILE [--backup-policy POLICY]]
              [--progress] [--force] [--json] IN OUT

Encrypts IN (any size; read once, in 64 KiB chunks, with bounded memory) into the sealed bid file
OUT (format THSB v1, protocol/docs/sealed-bid-format.md), signed with your signing key:
  --recipient   encryption public key(s) that may open the bid (1..7, e.g. several CA locks of one
                company): PEM public keys or PEM certificates, of the suite's type
  --policy      who can open: `bidder` (the recipients only), `bidder-or-escrow` (the recipients,
                or k of the tender's n escrow custodians), `bidder-and-escrow` (both needed)
  --escrow      the tender's published escrow setup, required by the two escrow policies
  --summary     the opening summary (开标一览表), a JSON object: price, duration_days, quality,
                project_manager, ... It is sealed apart from the body so the opening hall can
                announce it without decrypting the body. The sealer adds machine_fingerprint and
                tool_version.
  --sign-cert   embed this X.509 certificate of the signing key instead of the bare public key
  --backup      also write a backup file (备用文件) made in the same pass: its own file key, the
                same commitment, so `tender backup-check` can later prove the two belong together.
                It uses the same recipients; --backup-policy may choose another policy for it
                (for instance bidder-or-escrow, so the custodians can open it if your key fails).
Outputs are written under temporary names and appear only when complete; existing files are
never replaced unless --force is given. Progress (bytes, rate) goes to stderr for inputs over
16 MiB when stderr is a terminal, or always with --progress. Prints the ciphertext digest, the
file size, the commitment and the rehearsal public key (for the decryption rehearsal).

Examples:
  tender seal --suite sodium --tender ZB-2024-0001 --bidder 91310000MA1FL0001X \
      --policy bidder --recipient keys/bidder-encryption.pub.pem \
      --sign-key keys/bidder-signing.pem --summary summary.json bid.zip bid.thsb
  tender seal --suite gm --tender ZB-2024-0001 --bidder 91310000MA1FL0001X \
      --policy bidder-or-escrow --escrow escrow-public.json \
      --recipient keys/bidder-encryption.pub.pem --sign-key keys/bidder-signing.pem \
      --summary summary.json --backup bid.backup.thsb --progress bid.zip bid.thsb
)";

constexpr const char* inspect_usage =
    R"(tender inspect — show a sealed bid file's header and recipients without decrypting

Usage:
  tender inspect [--json] FILE

Reads the whole file's structure (header, summary section, chunk framing, trailer) and prints what
is public in it: suite, tender, bidder, key policy, creation time, tool version, the recipient
stanzas (with the fingerprint of each bidder key, comparable with `tender keygen` output), the
escrow point R, sizes, chunk count, header and ciphertext digests, the commitment, the rehearsal
public key and the signer. Nothing is verified: use `tender verify` for that. Exit code 1 when the
file is not structurally a sealed bid (with the format's error code).

Examples:
  tender inspect bid.thsb
  tender inspect --json bid.thsb | jq .stanzas
)";

constexpr const char* verify_usage =
    R"(tender verify — check a sealed bid file's structure and signature (no key needed)

Usage:
  tender verify [--signer PUB.pem | --ca ROOTS.pem] [--json] FILE

What the server runs at upload: the full structure, the header digest, the ciphertext digest over
every sealed byte and the bidder's signature. With --signer the file must be signed by that public
key (PEM public key or certificate). With --ca the file must embed a signing certificate whose
chain leads to one of the PEM roots in ROOTS.pem (SM2 certificates with the GM/T 0009 ID).
Exit code 0 when valid, 1 when not (with the reason's code, e.g. sealed.ciphertext_mismatch).

Examples:
  tender verify bid.thsb
  tender verify --signer keys/bidder-signing.pub.pem bid.thsb
  tender verify --ca ca-roots.pem --json bid.thsb
)";

constexpr const char* open_usage =
    R"(tender open — open a sealed bid: with the bidder's key, the escrow custodians' shares, or both

Usage:
  tender open FILE [--key PRIVATE.pem] [--passphrase-file FILE]
              [--escrow-public escrow-public.json --escrow-share D.json ...]
              [--out OUT | --summary-only] [--progress] [--force] [--json]

Unwraps the file key and decrypts the opening summary (printed) and the body (written to OUT,
mode 0600). Every chunk is authenticated, and the commitment and the bidder's signature are
checked; the body appears at OUT only when all of that succeeded (it is written under a temporary
name first), so a damaged or altered file never leaves a partial plaintext. Without --out the
body is decrypted and checked but not written; with --summary-only the body is not read at all.
Where the file key comes from:
  --key            the bidder's private encryption key (policies bidder and bidder-or-escrow)
  --escrow-public + --escrow-share (at least k decryption shares, made by the custodians with
                   `tender escrow share --sealed FILE`): the escrow opening of a
                   bidder-or-escrow file. Each share's proof is checked against FILE.
  both             bidder-and-escrow: the bidder's key and k custodians' shares are both needed.

Examples:
  tender open bid.thsb --key keys/bidder-encryption.pem --out bid.zip
  tender open bid.thsb --key keys/bidder-encryption.pem --summary-only --json
  tender open bid.thsb --escrow-public escrow-public.json --escrow-share dshare-1.json \
      --escrow-share dshare-3.json --escrow-share dshare-4.json --out bid.zip
)";

constexpr const char* backup_check_usage =
    R"(tender backup-check — check that a backup file (备用文件) belongs to a sealed bid

Usage:
  tender backup-check [--json] SEALED BACKUP

Verifies both files (structure and signatures) and checks that they were made by the same sealing
(`tender seal --backup`): same suite, tender, bidder, signer and plaintext commitment. No key is
needed. Exit code 0 when the backup matches, 1 when it does not (sealed.backup_mismatch) or when
either file is invalid.

Examples:
  tender backup-check bid.thsb bid.backup.thsb
  tender backup-check --json uploaded/bid-17.thsb usb/bid-17.backup.thsb
)";

// ---- small helpers ------------------------------------------------------------------------------

std::string hex_of(crypto::byte_view b) {
  return crypto::hex_encode(b);
}

std::string_view text_of(const crypto::secure_bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The first line of a passphrase file, in wiping storage.
crypto::secure_bytes read_passphrase(const fs::path& path) {
  crypto::secure_bytes raw = read_secret_file(path, 4096);
  std::size_t n = 0;
  while (n < raw.size() && raw.data()[n] != '\n' && raw.data()[n] != '\r')
    ++n;
  if (n == 0) throw error(codes::bad_input, path.string() + ": the passphrase is empty");
  return crypto::secure_bytes(raw.view().first(n));
}

std::optional<crypto::secure_bytes> passphrase_option(const po::variables_map& vm) {
  if (vm.count("passphrase-file") == 0u) return std::nullopt;
  return read_passphrase(vm["passphrase-file"].as<std::string>());
}

crypto::private_key load_private_key(const fs::path& path,
                                     const std::optional<crypto::secure_bytes>& passphrase) {
  const crypto::secure_bytes pem = read_secret_file(path, max_small_file);
  return about_file(path, [&] {
    if (passphrase) return crypto::private_key::from_pem(text_of(pem), text_of(*passphrase));
    return crypto::private_key::from_pem(text_of(pem));
  });
}

// A public key from a PEM public key or from the first certificate of a PEM file.
crypto::public_key load_public_key(const fs::path& path) {
  const std::string pem = read_file(path, max_small_file);
  return about_file(path, [&] {
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
      return x509::certificate::from_pem(pem).subject_key();
    }
    return crypto::public_key::from_pem(pem);
  });
}

esc::setup_public load_escrow_setup(const fs::path& path) {
  const std::string text = read_file(path, max_small_file);
  return about_file(path, [&] { return esc::setup_from_json(text); });
}

std::string stanza_type_name(sealed::stanza_type t) {
  switch (t) {
    case sealed::stanza_type::x25519:
      return "x25519";
    case sealed::stanza_type::sm2:
      return "sm2";
    case sealed::stanza_type::escrow_ristretto255:
      return "escrow-ristretto255";
    case sealed::stanza_type::escrow_sm2:
      return "escrow-sm2";
  }
  return "unknown";
}

// The fingerprint of a bidder stanza's recipient, as `tender keygen` prints it; empty for escrow
// stanzas (their recipient is the escrow point itself).
std::string recipient_fingerprint(const sealed::stanza& st) {
  try {
    if (st.type == sealed::stanza_type::x25519) {
      return crypto::public_key::from_raw(crypto::key_type::x25519, st.recipient).fingerprint();
    }
    if (st.type == sealed::stanza_type::sm2) {
      return crypto::public_key::from_raw(crypto::key_type::sm2, st.recipient).fingerprint();
    }
  } catch (const crypto::error&) {
    // parse_header already checked sizes; a point off the curve is shown without a fingerprint.
  }
  return {};
}

std::string utc_time(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

std::string human_size(std::uint64_t n) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  if (n >= (std::uint64_t{1} << 30)) {
    s << static_cast<double>(n) / static_cast<double>(std::uint64_t{1} << 30) << " GiB";
  } else if (n >= (std::uint64_t{1} << 20)) {
    s << static_cast<double>(n) / static_cast<double>(std::uint64_t{1} << 20) << " MiB";
  } else if (n >= 1024) {
    s << static_cast<double>(n) / 1024.0 << " KiB";
  } else {
    s << n << " B";
  }
  return s.str();
}

// ---- progress -----------------------------------------------------------------------------------

// Reports how far a long read has got, at most a few times a second: on one rewritten line on a
// terminal, otherwise one line per second (a log file should not fill with carriage returns).
class progress_meter {
public:
  progress_meter(std::ostream& err, std::string verb, std::optional<std::uint64_t> total,
                 bool terminal)
      : err_(err),
        verb_(std::move(verb)),
        total_(total),
        terminal_(terminal),
        start_(clock::now()),
        last_(start_) {}

  void add(std::uint64_t n) {
    done_ += n;
    const auto now = clock::now();
    if (now - last_ >= (terminal_ ? std::chrono::milliseconds(250) : std::chrono::seconds(1))) {
      last_ = now;
      print(now, false);
    }
  }
  void finish() { print(clock::now(), true); }

private:
  using clock = std::chrono::steady_clock;

  void print(clock::time_point now, bool final) {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
    std::ostringstream line;
    line << verb_ << " " << human_size(done_);
    if (total_ && *total_ > 0) {
      line << " of " << human_size(*total_) << " (" << (done_ * 100 / *total_) << "%)";
    }
    line << ", " << human_size(static_cast<std::uint64_t>(rate)) << "/s";
    if (final) {
      line.setf(std::ios::fixed);
      line.precision(1);
      line << ", " << seconds << " s";
    }
    err_ << (terminal_ ? "\r" : "") << line.str() << (terminal_ && !final ? "\033[K" : "\n");
    err_.flush();
  }

  std::ostream& err_;
  std::string verb_;
  std::optional<std::uint64_t> total_;
  bool terminal_;
  clock::time_point start_;
  clock::time_point last_;
  std::uint64_t done_ = 0;
};

// An input stream buffer that counts what passes through it in 64 KiB blocks.
class counting_buffer : public std::streambuf {
public:
  counting_buffer(std::streambuf* source, progress_meter& meter) : source_(source), meter_(meter) {}

protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const std::streamsize n =
        source_->sgetn(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    if (n <= 0) return traits_type::eof();
    meter_.add(static_cast<std::uint64_t>(n));
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

private:
  std::streambuf* source_;
  progress_meter& meter_;
  std::array<char, 65536> buffer_{};
};

constexpr std::uint64_t auto_progress_threshold = std::uint64_t{16} << 20;

// Progress is shown when asked for, or for a large input when stderr is a terminal.
std::unique_ptr<progress_meter> make_meter(context& ctx, bool forced, const std::string& verb,
                                           std::optional<std::uint64_t> total) {
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const bool large = !total || *total >= auto_progress_threshold;
  if (!forced && !(terminal && large)) return nullptr;
  return std::make_unique<progress_meter>(ctx.err, verb, total, terminal);
}

std::optional<std::uint64_t> regular_file_size(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const auto size = fs::file_size(path, ec);
  if (ec) return std::nullopt;
  return static_cast<std::uint64_t>(size);
}

// ---- keygen -------------------------------------------------------------------------------------

int run_keygen(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()                                                                       //
      ("suite", po::value<std::string>()->value_name("NAME")->required(), "sodium or gm")  //
      ("out-dir", po::value<std::string>()->value_name("DIR")->required(),
       "directory for the key files")  //
      ("name", po::value<std::string>()->value_name("NAME")->default_value("bidder"),
       "file name prefix")  //
      ("passphrase-file", po::value<std::string>()->value_name("FILE"),
       "encrypt the private keys with the passphrase in FILE")    //
      ("force", po::bool_switch(), "replace existing key files")  //
      ("json", po::bool_switch(), "machine-readable output");
  int code = 0;
  auto vm = parse_command_args(ctx, args, keygen_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  const bool force = (*vm)["force"].as<bool>();
  crypto::suite_id suite{};
  try {
    suite = crypto::suite_from_name((*vm)["suite"].as<std::string>());
  } catch (const crypto::error&) {
    return usage_error(ctx, "--suite must be sodium or gm");
  }
  const std::string name = (*vm)["name"].as<std::string>();
  if (name.empty() || name.find('/') != std::string::npos || name.front() == '.') {
    return usage_error(ctx, "--name must be a plain file name prefix");
  }

  crypto::init();
  const auto passphrase = passphrase_option(*vm);
  const crypto::cipher_suite& cs = crypto::get_suite(suite);
  const fs::path dir = (*vm)["out-dir"].as<std::string>();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw error(codes::io, "cannot create " + dir.string() + ": " + ec.message());
  }

  struct key_files {
    std::string role;  // "encryption" / "signing"
    crypto::private_key key;
    fs::path private_path;
    fs::path public_path;
  };
  std::vector<key_files> keys;
  for (const auto& [role, type] : {std::pair{std::string("encryption"), cs.encryption_key_type()},
                                   std::pair{std::string("signing"), cs.signature_key_type()}}) {
    keys.push_back({role, crypto::private_key::generate(type), dir / (name + "-" + role + ".pem"),
                    dir / (name + "-" + role + ".pub.pem")});
  }
  // Refuse before writing anything, so that a key pair is never half replaced.
  if (!force) {
    for (const auto& k : keys) {
      for (const auto& p : {k.private_path, k.public_path}) {
        if (fs::exists(fs::symlink_status(p, ec))) {
          throw error(codes::file_exists,
                      p.string() + " already exists (use --force to replace it)");
        }
      }
    }
  }
  std::vector<fs::path> written;
  try {
    for (const auto& k : keys) {
      const crypto::secure_bytes pem =
          passphrase ? k.key.to_pem(text_of(*passphrase)) : k.key.to_pem();
      write_file(k.private_path, pem.view(), {force, true});
      written.push_back(k.private_path);
      write_file(k.public_path, k.key.public_part().to_pem(), {force, false});
      written.push_back(k.public_path);
    }
  } catch (...) {
    for (const auto& p : written)
      fs::remove(p, ec);
    throw;
  }

  if (as_json) {
    json::object out{{"suite", crypto::suite_name(suite)}};
    for (const auto& k : keys) {
      const crypto::public_key pub = k.key.public_part();
      out[k.role] = json::object{{"type", crypto::key_type_name(pub.type())},
                                 {"fingerprint", pub.fingerprint()},
                                 {"private_key_file", k.private_path.string()},
                                 {"public_key_file", k.public_path.string()}};
    }
    out["encrypted"] = passphrase.has_value();
    ctx.out << json::serialize(out) << "\n";
  } else {
    ctx.out << "key pairs for the " << crypto::suite_name(suite) << " suite"
            << (passphrase ? " (private keys encrypted with the passphrase)" : "") << ":\n";
    for (const auto& k : keys) {
      const crypto::public_key pub = k.key.public_part();
      ctx.out << "  " << k.role << " (" << crypto::key_type_name(pub.type()) << ")\n"
              << "    fingerprint: " << pub.fingerprint() << "\n"
              << "    private:     " << k.private_path.string() << "  (mode 0600, keep secret)\n"
              << "    public:      " << k.public_path.string() << "\n";
    }
  }
  return exit_ok;
}

// ---- seal ---------------------------------------------------------------------------------------

json::object seal_result_json(const sealed::seal_result& r, const fs::path& file) {
  return json::object{{"file", file.string()},
                      {"file_size", r.file_size},
                      {"policy", sealed::policy_name(r.hdr.policy)},
                      {"body_size", r.tr.body_size},
                      {"chunk_count", r.tr.chunk_count},
                      {"header_digest", hex_of(r.tr.header_digest)},
                      {"ciphertext_digest", hex_of(r.tr.ciphertext_digest)},
                      {"commitment", hex_of(r.tr.commitment)},
                      {"rehearsal_public_key", hex_of(r.hdr.rehearsal_public_key)}};
}

void print_seal_result(std::ostream& out, const char* what, const sealed::seal_result& r,
                       const fs::path& file) {
  out << what << ": " << file.string() << "\n"
      << "  policy:               " << sealed::policy_name(r.hdr.policy) << "\n"
      << "  file size:            " << r.file_size << " bytes (body " << r.tr.body_size
      << " bytes, " << r.tr.chunk_count << " chunks)\n"
      << "  ciphertext digest:    " << hex_of(r.tr.ciphertext_digest) << "\n"
      << "  header digest:        " << hex_of(r.tr.header_digest) << "\n"
      << "  commitment:           " << hex_of(r.tr.commitment) << "\n"
      << "  rehearsal public key: " << hex_of(r.hdr.rehearsal_public_key) << "\n";
}

int run_seal(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()                                                                         //
      ("suite", po::value<std::string>()->value_name("NAME")->required(), "sodium or gm")    //
      ("tender", po::value<std::string>()->value_name("ID")->required(), "the tender's id")  //
      ("bidder", po::value<std::string>()->value_name("ID")->required(),
       "your bidder id (e.g. unified social credit code)")  //
      ("policy", po::value<std::string>()->value_name("POLICY")->required(),
       "bidder, bidder-or-escrow or bidder-and-escrow")  //
      ("recipient",
       po::value<std::vector<std::string>>()->value_name("PUB.pem")->composing()->required(),
       "encryption public key or certificate that may open the bid (1..7)")  //
      ("sign-key", po::value<std::string>()->value_name("KEY.pem")->required(),
       "your private signing key")  //
      ("sign-cert", po::value<std::string>()->value_name("CERT.pem"),
       "certificate of the signing key, embedded in the file")  //
      ("passphrase-file", po::value<std::string>()->value_name("FILE"),
       "passphrase of an encrypted signing key")  //
      ("escrow", po::value<std::string>()->value_name("FILE"),
       "the tender's escrow setup (escrow-public.json), for the escrow policies")  //
      ("summary", po::value<std::string>()->value_name("FILE")->required(),
       "the opening summary, a JSON object")  //
      ("backup", po::value<std::string>()->value_name("FILE"),
       "also write a backup file made in the same pass")  //
      ("backup-policy", po::value<std::string>()->value_name("POLICY"),
       "key policy of the backup file (default: --policy)")                          //
      ("progress", po::bool_switch(), "show progress on stderr")                     //
      ("force", po::bool_switch(), "replace existing output files")                  //
      ("json", po::bool_switch(), "machine-readable output")                         //
      ("input", po::value<std::string>()->value_name("IN"), "the bid file to seal")  //
      ("output", po::value<std::string>()->value_name("OUT"), "the sealed file to write");
  po::positional_options_description positional;
  positional.add("input", 1).add("output", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, seal_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  const bool force = (*vm)["force"].as<bool>();
  if (vm->count("input") == 0u || vm->count("output") == 0u) {
    return usage_error(ctx, "give the bid file IN and the sealed file OUT");
  }
  if (vm->count("backup-policy") != 0u && vm->count("backup") == 0u) {
    return usage_error(ctx, "--backup-policy needs --backup");
  }

  sealed::seal_params params;
  try {
    params.suite = crypto::suite_from_name((*vm)["suite"].as<std::string>());
  } catch (const crypto::error&) {
    return usage_error(ctx, "--suite must be sodium or gm");
  }
  std::optional<sealed::key_policy> backup_policy;
  try {
    params.policy = sealed::policy_from_name((*vm)["policy"].as<std::string>());
    if (vm->count("backup-policy") != 0u) {
      backup_policy = sealed::policy_from_name((*vm)["backup-policy"].as<std::string>());
    }
  } catch (const crypto::error&) {
    return usage_error(ctx, "a key policy is bidder, bidder-or-escrow or bidder-and-escrow");
  }
  const bool needs_escrow = params.policy != sealed::key_policy::bidder ||
                            (backup_policy && *backup_policy != sealed::key_policy::bidder);
  if (needs_escrow && vm->count("escrow") == 0u) {
    return usage_error(ctx, "the escrow policies need the tender's escrow setup (--escrow)");
  }
  if (!needs_escrow && vm->count("escrow") != 0u) {
    return usage_error(ctx,
                       "--escrow is used only by the bidder-or-escrow and bidder-and-escrow "
                       "policies");
  }
  const fs::path in_path = (*vm)["input"].as<std::string>();
  const fs::path out_path = (*vm)["output"].as<std::string>();
  std::optional<fs::path> backup_path;
  if (vm->count("backup") != 0u) backup_path = (*vm)["backup"].as<std::string>();

  crypto::init();
  params.tender_id = (*vm)["tender"].as<std::string>();
  params.bidder_id = (*vm)["bidder"].as<std::string>();
  for (const auto& r : (*vm)["recipient"].as<std::vector<std::string>>())
    params.bidder_keys.push_back(load_public_key(r));
  params.signing_key =
      load_private_key((*vm)["sign-key"].as<std::string>(), passphrase_option(*vm));
  if (vm->count("sign-cert") != 0u) {
    const fs::path cert_path = (*vm)["sign-cert"].as<std::string>();
    const std::string pem = read_file(cert_path, max_small_file);
    params.signing_certificate =
        about_file(cert_path, [&] { return x509::certificate::from_pem(pem).to_der(); });
  }
  std::optional<esc::public_key> escrow_key;
  if (vm->count("escrow") != 0u) {
    escrow_key = load_escrow_setup((*vm)["escrow"].as<std::string>()).key();
  }
  if (params.policy != sealed::key_policy::bidder) params.escrow_key = escrow_key;
  const fs::path summary_path = (*vm)["summary"].as<std::string>();
  const std::string summary = read_file(summary_path, sealed::max_summary_json_size);

  std::ifstream in = open_input(in_path);
  const auto in_size = regular_file_size(in_path);
  auto meter = make_meter(ctx, (*vm)["progress"].as<bool>(), "sealed", in_size);
  std::unique_ptr<counting_buffer> counted;
  std::istream counted_in(nullptr);
  std::istream* body = &in;
  if (meter) {
    counted = std::make_unique<counting_buffer>(in.rdbuf(), *meter);
    counted_in.rdbuf(counted.get());
    body = &counted_in;
  }

  pending_output out(out_path, force, false);
  std::optional<pending_output> backup_out;
  if (backup_path) {
    if (fs::weakly_canonical(*backup_path) == fs::weakly_canonical(out_path)) {
      return usage_error(ctx, "the backup file must not be the sealed file");
    }
    backup_out.emplace(*backup_path, force, false);
  }

  sealed::seal_result primary;
  std::optional<sealed::seal_result> backup;
  if (backup_out) {
    sealed::seal_params bp = params;
    bp.policy = backup_policy.value_or(params.policy);
    bp.escrow_key = bp.policy == sealed::key_policy::bidder ? std::nullopt : escrow_key;
    sealed::sealed_pair pair =
        sealed::seal_with_backup(params, bp, summary, *body, out.stream(), backup_out->stream());
    primary = std::move(pair.primary);
    backup = std::move(pair.backup);
  } else {
    primary = sealed::seal(params, summary, *body, out.stream());
  }
  if (in.bad()) throw error(codes::io, "cannot read " + in_path.string());
  if (meter) meter->finish();
  out.commit();
  if (backup_out) backup_out->commit();

  if (as_json) {
    json::object result{{"suite", crypto::suite_name(params.suite)},
                        {"tender_id", params.tender_id},
                        {"bidder_id", params.bidder_id},
                        {"sealed", seal_result_json(primary, out_path)}};
    if (backup) result["backup"] = seal_result_json(*backup, *backup_path);
    ctx.out << json::serialize(result) << "\n";
  } else {
    print_seal_result(ctx.out, "sealed", primary, out_path);
    if (backup) print_seal_result(ctx.out, "backup", *backup, *backup_path);
    ctx.out << "Upload " << out_path.string() << " before the deadline"
            << (backup ? "; keep the backup file apart from it" : "") << ".\n";
  }
  return exit_ok;
}

// ---- inspect ------------------------------------------------------------------------------------

json::object signer_json(const sealed::header& h, const sealed::trailer& t) {
  json::object s{{"kind", t.kind == sealed::signer_kind::certificate ? "certificate" : "raw_key"}};
  try {
    if (t.kind == sealed::signer_kind::certificate) {
      const auto cert = x509::certificate::from_der(t.signer);
      s["subject"] = cert.subject();
      s["issuer"] = cert.issuer();
      s["serial"] = cert.serial_hex();
      s["certificate_fingerprint"] = cert.fingerprint();
      s["fingerprint"] = cert.subject_key().fingerprint();
    } else {
      s["key"] = hex_of(t.signer);
      s["fingerprint"] =
          crypto::public_key::from_raw(crypto::get_suite(h.suite).signature_key_type(), t.signer)
              .fingerprint();
    }
  } catch (const crypto::error& e) {
    // inspect shows the structure even when the signer is unusable; verify rejects it.
    s["problem"] = e.code();
  }
  return s;
}

json::object layout_json(const sealed::file_layout& l) {
  const sealed::header& h = l.hdr;
  const sealed::trailer& t = l.tr;
  json::array stanzas;
  for (const auto& st : h.stanzas) {
    json::object o{{"type", stanza_type_name(st.type)},
                   {"recipient", hex_of(st.recipient)},
                   {"body_size", st.body.size()}};
    if (!st.ephemeral.empty()) o["ephemeral"] = hex_of(st.ephemeral);
    if (const std::string fp = recipient_fingerprint(st); !fp.empty()) o["fingerprint"] = fp;
    stanzas.push_back(std::move(o));
  }
  return json::object{{"format", "THSB"},
                      {"version", h.version},
                      {"suite", crypto::suite_name(h.suite)},
                      {"policy", sealed::policy_name(h.policy)},
                      {"tender_id", h.tender_id},
                      {"bidder_id", h.bidder_id},
                      {"created_at", h.created_at},
                      {"created_at_utc", utc_time(h.created_at)},
                      {"tool_version", h.tool_version},
                      {"rehearsal_public_key", hex_of(h.rehearsal_public_key)},
                      {"stanzas", std::move(stanzas)},
                      {"sizes", json::object{{"header", l.header_size},
                                             {"summary_section", l.summary_section_size},
                                             {"body_section", l.body_section_size},
                                             {"trailer", l.trailer_size},
                                             {"total", l.total_size}}},
                      {"body_size", t.body_size},
                      {"chunk_count", t.chunk_count},
                      {"header_digest", hex_of(t.header_digest)},
                      {"ciphertext_digest", hex_of(t.ciphertext_digest)},
                      {"commitment", hex_of(t.commitment)},
                      {"signer", signer_json(h, t)}};
}

int run_inspect(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()                                          //
      ("json", po::bool_switch(), "machine-readable output")  //
      ("file", po::value<std::string>()->value_name("FILE"), "the sealed bid file");
  po::positional_options_description positional;
  positional.add("file", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, inspect_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("file") == 0u) return usage_error(ctx, "give the sealed file to inspect");
  const fs::path path = (*vm)["file"].as<std::string>();

  crypto::init();
  std::ifstream in = open_input(path);
  const sealed::file_layout layout = about_file(path, [&] { return sealed::inspect(in); });
  const json::object j = layout_json(layout);
  if (as_json) {
    ctx.out << json::serialize(j) << "\n";
    return exit_ok;
  }
  const sealed::header& h = layout.hdr;
  const sealed::trailer& t = layout.tr;
  ctx.out << "sealed bid file " << path.string() << " (THSB v" << int{h.version} << ")\n"
          << "  suite:                " << crypto::suite_name(h.suite) << "\n"
          << "  tender:               " << h.tender_id << "\n"
          << "  bidder:               " << h.bidder_id << "\n"
          << "  policy:               " << sealed::policy_name(h.policy) << "\n"
          << "  created:              " << utc_time(h.created_at) << "\n"
          << "  tool:                 " << h.tool_version << "\n"
          << "  stanzas:              " << h.stanzas.size() << "\n";
  for (const auto& st : h.stanzas) {
    ctx.out << "    " << stanza_type_name(st.type) << "  recipient " << hex_of(st.recipient)
            << "\n";
    if (const std::string fp = recipient_fingerprint(st); !fp.empty()) {
      ctx.out << "      key fingerprint " << fp << "\n";
    }
    if (st.is_escrow()) ctx.out << "      R " << hex_of(st.ephemeral) << "\n";
  }
  ctx.out << "  sizes:                header " << layout.header_size << ", summary "
          << layout.summary_section_size << ", body " << layout.body_section_size << ", trailer "
          << layout.trailer_size << ", total " << layout.total_size << " bytes\n"
          << "  body:                 " << t.body_size << " bytes in " << t.chunk_count
          << " chunks\n"
          << "  header digest:        " << hex_of(t.header_digest) << "\n"
          << "  ciphertext digest:    " << hex_of(t.ciphertext_digest) << "\n"
          << "  commitment:           " << hex_of(t.commitment) << "\n"
          << "  rehearsal public key: " << hex_of(h.rehearsal_public_key) << "\n";
  const json::object& s = j.at("signer").as_object();
  ctx.out << "  signer:               " << json::value_to<std::string>(s.at("kind"));
  if (const auto* fp = s.if_contains("fingerprint")) {
    ctx.out << ", fingerprint " << json::value_to<std::string>(*fp);
  }
  if (const auto* subject = s.if_contains("subject")) {
    ctx.out << "\n                        " << json::value_to<std::string>(*subject);
  }
  if (const auto* problem = s.if_contains("problem")) {
    ctx.out << " (unusable: " << json::value_to<std::string>(*problem) << ")";
  }
  ctx.out << "\n(not verified: run `tender verify` to check the digests and the signature)\n";
  return exit_ok;
}

// ---- verify -------------------------------------------------------------------------------------

int run_verify(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("signer", po::value<std::string>()->value_name("PUB.pem"),
       "require this signer (public key or certificate, PEM)")  //
      ("ca", po::value<std::string>()->value_name("ROOTS.pem"),
       "require an embedded certificate chaining to one of these roots")  //
      ("json", po::bool_switch(), "machine-readable output")              //
      ("file", po::value<std::string>()->value_name("FILE"), "the sealed bid file");
  po::positional_options_description positional;
  positional.add("file", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, verify_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("file") == 0u) return usage_error(ctx, "give the sealed file to verify");
  if (vm->count("signer") != 0u && vm->count("ca") != 0u) {
    return usage_error(ctx, "--signer and --ca are alternatives; give one");
  }
  const fs::path path = (*vm)["file"].as<std::string>();

  crypto::init();
  std::optional<crypto::public_key> expected;
  if (vm->count("signer") != 0u) expected = load_public_key((*vm)["signer"].as<std::string>());
  std::optional<x509::trust_store> roots;
  if (vm->count("ca") != 0u) {
    const fs::path ca_path = (*vm)["ca"].as<std::string>();
    const std::string pem = read_file(ca_path, max_large_file);
    roots.emplace();
    about_file(ca_path, [&] { roots->add_pem_bundle(pem); });
  }

  std::ifstream in = open_input(path);
  sealed::verify_result v;
  std::optional<x509::verified_chain> chain;
  try {
    v = sealed::verify(in, expected ? &*expected : nullptr);
    if (roots) {
      if (!v.certificate) {
        throw crypto::error(sealed::codes::bad_signer,
                            "the file embeds no signing certificate to check against --ca");
      }
      chain = x509::verify_chain(x509::certificate::from_der(*v.certificate), {}, *roots);
      if (!(chain->leaf_key == v.signer_key)) {
        throw crypto::error(sealed::codes::bad_signer, "the certificate is not the signer's");
      }
    }
  } catch (const crypto::error& e) {
    return report_invalid(ctx, as_json, e.code(), path.string() + ": " + e.what());
  }

  const sealed::header& h = v.layout.hdr;
  if (as_json) {
    json::object out{{"valid", true},
                     {"file", path.string()},
                     {"suite", crypto::suite_name(h.suite)},
                     {"tender_id", h.tender_id},
                     {"bidder_id", h.bidder_id},
                     {"policy", sealed::policy_name(h.policy)},
                     {"file_size", v.layout.total_size},
                     {"header_digest", hex_of(v.header_digest)},
                     {"ciphertext_digest", hex_of(v.ciphertext_digest)},
                     {"commitment", hex_of(v.commitment)},
                     {"signer_fingerprint", v.signer_key.fingerprint()}};
    if (chain && !chain->path.empty()) {
      out["certificate_subject"] = chain->path.front().subject();
      out["root_subject"] = chain->path.back().subject();
    }
    ctx.out << json::serialize(out) << "\n";
  } else {
    ctx.out << "valid sealed bid: " << path.string() << "\n"
            << "  tender " << h.tender_id << ", bidder " << h.bidder_id << ", "
            << crypto::suite_name(h.suite) << ", policy " << sealed::policy_name(h.policy) << "\n"
            << "  file size:          " << v.layout.total_size << " bytes\n"
            << "  ciphertext digest:  " << hex_of(v.ciphertext_digest) << "\n"
            << "  commitment:         " << hex_of(v.commitment) << "\n"
            << "  signed by:          " << v.signer_key.fingerprint()
            << (expected ? " (the expected signer)" : "") << "\n";
    if (chain && !chain->path.empty()) {
      ctx.out << "  certificate:        " << chain->path.front().subject() << "\n"
              << "  trusted root:       " << chain->path.back().subject() << "\n";
    }
  }
  return exit_ok;
}

// ---- open ---------------------------------------------------------------------------------------

// The S of a sealed file's escrow stanza from the custodians' decryption shares. Every share is
// checked against this file's R and context; a bad one is reported with its file and custodian.
crypto::secure_bytes escrow_secret(const fs::path& path, const sealed::header& h,
                                   const fs::path& setup_path,
                                   const std::vector<std::string>& share_files) {
  const esc::setup_public pub = load_escrow_setup(setup_path);
  const esc::public_key recipient = about_file(path, [&] { return sealed::escrow_recipient(h); });
  if (recipient.grp != pub.grp || recipient.point != pub.public_key) {
    throw error(codes::escrow_mismatch,
                "the file was sealed for another escrow key than " + setup_path.string());
  }
  const crypto::bytes r = sealed::escrow_ephemeral(h);
  const crypto::bytes context = sealed_escrow_context(h);
  std::vector<esc::decryption_share> shares;
  for (const auto& f : share_files) {
    const std::string text = read_file(f, max_small_file);
    shares.push_back(about_file(f, [&] {
      esc::decryption_share ds = esc::decryption_share_from_json(text);
      esc::verify_decryption_share(pub, r, ds, context);
      return ds;
    }));
  }
  return esc::combine(pub, r, shares, context);
}

int run_open(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("key", po::value<std::string>()->value_name("PRIVATE.pem"),
       "your private encryption key")  //
      ("passphrase-file", po::value<std::string>()->value_name("FILE"),
       "passphrase of an encrypted key")  //
      ("escrow-public", po::value<std::string>()->value_name("FILE"),
       "the tender's escrow setup (escrow-public.json)")  //
      ("escrow-share", po::value<std::vector<std::string>>()->value_name("D.json")->composing(),
       "a custodian's decryption share for this file (k of them)")  //
      ("out", po::value<std::string>()->value_name("OUT"),
       "write the opened bid here (mode 0600)")                                   //
      ("summary-only", po::bool_switch(), "open only the summary, not the body")  //
      ("progress", po::bool_switch(), "show progress on stderr")                  //
      ("force", po::bool_switch(), "replace --out if it exists")                  //
      ("json", po::bool_switch(), "machine-readable output")                      //
      ("file", po::value<std::string>()->value_name("FILE"), "the sealed bid file");
  po::positional_options_description positional;
  positional.add("file", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, open_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  const bool summary_only = (*vm)["summary-only"].as<bool>();
  if (vm->count("file") == 0u) return usage_error(ctx, "give the sealed file to open");
  if (summary_only && vm->count("out") != 0u) {
    return usage_error(ctx, "--summary-only does not read the body; drop --out");
  }
  const bool by_key = vm->count("key") != 0u;
  const bool by_escrow = vm->count("escrow-share") != 0u;
  if (by_escrow != (vm->count("escrow-public") != 0u)) {
    return usage_error(ctx, "--escrow-share and --escrow-public go together");
  }
  if (!by_key && !by_escrow) {
    return usage_error(ctx, "give --key, or --escrow-public with the custodians' --escrow-share");
  }
  const fs::path path = (*vm)["file"].as<std::string>();

  crypto::init();
  const sealed::header h = read_sealed_header(path);

  // The file key: from the bidder's stanza, from the escrow stanza, or from both parts.
  crypto::secure_bytes file_key;
  std::optional<sealed::unwrapped_key> bidder;
  if (by_key) {
    const fs::path key_path = (*vm)["key"].as<std::string>();
    const crypto::private_key key = load_private_key(key_path, passphrase_option(*vm));
    bidder = about_file(path, [&] { return sealed::unwrap_bidder(h, key); });
  }
  if (by_escrow) {
    const crypto::secure_bytes s =
        escrow_secret(path, h, (*vm)["escrow-public"].as<std::string>(),
                      (*vm)["escrow-share"].as<std::vector<std::string>>());
    std::optional<crypto::byte_view> part;
    if (bidder && bidder->kind == sealed::key_kind::bidder_part) part = bidder->key.view();
    file_key = about_file(path, [&] { return sealed::file_key_from_escrow(h, s.view(), part); });
  } else if (bidder->kind == sealed::key_kind::bidder_part) {
    throw crypto::error(sealed::codes::wrong_key,
                        path.string() +
                            ": the file is sealed bidder-and-escrow: the bidder's key opens only "
                            "its part; k custodians' shares are needed as well (--escrow-public, "
                            "--escrow-share)");
  } else {
    file_key = std::move(bidder->key);
  }

  std::ifstream in = open_input(path);
  std::string summary_json;
  std::optional<sealed::open_result> opened;
  std::optional<fs::path> out_path;
  if (vm->count("out") != 0u) out_path = (*vm)["out"].as<std::string>();
  if (summary_only) {
    summary_json = about_file(path, [&] { return sealed::open_summary(in, file_key.view()).json; });
  } else {
    auto meter = make_meter(ctx, (*vm)["progress"].as<bool>(), "opened", regular_file_size(path));
    std::unique_ptr<counting_buffer> counted;
    std::istream counted_in(nullptr);
    std::istream* source = &in;
    if (meter) {
      counted = std::make_unique<counting_buffer>(in.rdbuf(), *meter);
      counted_in.rdbuf(counted.get());
      source = &counted_in;
    }
    if (out_path) {
      // The plaintext goes to a temporary file that is renamed only when every chunk, the
      // commitment and the signature checked out; on failure the destructor removes it.
      pending_output out(*out_path, (*vm)["force"].as<bool>(), true);
      opened = about_file(
          path, [&] { return sealed::open_body(*source, file_key.view(), out.stream()); });
      out.commit();
    } else {
      opened = about_file(path, [&] { return sealed::verify_body(*source, file_key.view()); });
    }
    if (meter) meter->finish();
    summary_json = opened->summary.json;
  }

  const char* route = !by_escrow ? "bidder key" : (by_key ? "bidder key and escrow" : "escrow");
  if (as_json) {
    json::error_code ec;
    json::value summary = json::parse(summary_json, ec);
    if (ec) summary = summary_json;
    json::object out{{"file", path.string()},
                     {"suite", crypto::suite_name(h.suite)},
                     {"tender_id", h.tender_id},
                     {"bidder_id", h.bidder_id},
                     {"policy", sealed::policy_name(h.policy)},
                     {"opened_with", route},
                     {"summary", std::move(summary)}};
    if (opened) {
      out["body_size"] = opened->body_size;
      out["commitment"] = hex_of(opened->verified.commitment);
      out["signer_fingerprint"] = opened->verified.signer_key.fingerprint();
      out["output"] = out_path ? json::value(out_path->string()) : json::value(nullptr);
    }
    ctx.out << json::serialize(out) << "\n";
  } else {
    ctx.out << "opened " << path.string() << " with the " << route << "\n"
            << "  tender " << h.tender_id << ", bidder " << h.bidder_id << ", policy "
            << sealed::policy_name(h.policy) << "\n"
            << "  summary: " << summary_json << "\n";
    if (opened) {
      ctx.out << "  body: " << opened->body_size << " bytes, every chunk authentic, commitment "
              << "and signature valid\n"
              << "  signed by: " << opened->verified.signer_key.fingerprint() << "\n";
      if (out_path) {
        ctx.out << "  written to " << out_path->string() << " (mode 0600)\n";
      } else {
        ctx.out << "  (body checked, not written: use --out to keep it)\n";
      }
    }
  }
  return exit_ok;
}

// ---- backup-check -------------------------------------------------------------------------------

int run_backup_check(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()                                          //
      ("json", po::bool_switch(), "machine-readable output")  //
      ("files", po::value<std::vector<std::string>>()->value_name("FILE"),
       "the sealed file and the backup file");
  po::positional_options_description positional;
  positional.add("files", 2);
  int code = 0;
  auto vm = parse_command_args(ctx, args, backup_check_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  const auto files = vm->count("files") != 0u ? (*vm)["files"].as<std::vector<std::string>>()
                                              : std::vector<std::string>{};
  if (files.size() != 2) return usage_error(ctx, "give the sealed file and the backup file");

  crypto::init();
  std::ifstream sealed_in = open_input(files[0]);
  std::ifstream backup_in = open_input(files[1]);
  sealed::verify_result primary;
  sealed::verify_result backup;
  try {
    primary = about_file(files[0], [&] { return sealed::verify(sealed_in); });
    backup = about_file(files[1], [&] { return sealed::verify(backup_in); });
    sealed::backup_check(primary, backup);
  } catch (const crypto::error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  }
  if (as_json) {
    ctx.out << json::serialize(json::object{{"valid", true},
                                            {"sealed", files[0]},
                                            {"backup", files[1]},
                                            {"tender_id", primary.layout.hdr.tender_id},
                                            {"bidder_id", primary.layout.hdr.bidder_id},
                                            {"commitment", hex_of(primary.commitment)}})
            << "\n";
  } else {
    ctx.out << "backup matches: " << files[1] << " was sealed together with " << files[0] << "\n"
            << "  tender " << primary.layout.hdr.tender_id << ", bidder "
            << primary.layout.hdr.bidder_id << "\n"
            << "  commitment: " << hex_of(primary.commitment) << "\n";
  }
  return exit_ok;
}

}  // namespace

void add_sealed_commands(std::vector<command>& out) {
  out.push_back({"keygen", "make a bidder's encryption and signing key pairs (PEM)", run_keygen});
  out.push_back(
      {"seal", "seal a bid file (and optionally its backup file) for a tender", run_seal});
  out.push_back(
      {"inspect", "show a sealed file's header and recipients without decrypting", run_inspect});
  out.push_back({"verify", "check a sealed file's structure and signature (no key)", run_verify});
  out.push_back({"open", "open a sealed bid with the bidder's key and/or escrow shares", run_open});
  out.push_back(
      {"backup-check", "check that a backup file was sealed with a sealed file", run_backup_check});
}

}  // namespace tender::cli
