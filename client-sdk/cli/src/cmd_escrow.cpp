// tender escrow setup | verify-share | share | combine — the threshold escrow ceremony and the
// opening-time decryption shares, all on local files (tender::crypto::escrow does the math).

#include "command.hpp"
#include "io.hpp"
#include "sealed_files.hpp"

#include <tender/crypto/escrow.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <system_error>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace esc = crypto::escrow;
namespace json = boost::json;

namespace {

constexpr const char* public_file_name = "escrow-public.json";

constexpr const char* setup_usage =
    R"(tender escrow setup — deal a tender's threshold escrow key to its custodians

Usage:
  tender escrow setup --group ristretto255|sm2 -k K -n N [--label NAME ...] --out-dir DIR
                      [--force] [--json]

The dealer ceremony. Draws a fresh escrow key and splits it (Feldman VSS) so that any K of the
N custodians can open the tender's sealed bids together, and fewer than K cannot. Writes to DIR
(created with mode 0700 if missing):
  escrow-public.json   the public setup: key, commitments, custodian labels. Publish it with the
                       tender; bidders seal for its key and custodians check their shares with it.
  share-<i>.json       custodian i's SECRET share, i = 1..N, mode 0600.
The group follows the tender's cipher suite: ristretto255 (modern) or sm2 (国密). Labels name the
custodians in index order, none or exactly N of them (default custodian-1 .. custodian-N).
Existing files are never replaced unless --force is given.

The dealer knows the whole key while dealing: give each share file privately to its custodian,
have each custodian run `tender escrow verify-share`, then destroy the dealer's copies.

Examples:
  tender escrow setup --group sm2 -k 3 -n 5 --label center --label supervisor --label notary \
      --label audit --label backup --out-dir ceremony/
  tender escrow setup --group ristretto255 -k 2 -n 3 --out-dir /media/usb/escrow --json
)";

constexpr const char* verify_share_usage =
    R"(tender escrow verify-share — check that the dealer gave you a correct share

Usage:
  tender escrow verify-share --public escrow-public.json --share share-<i>.json [--json]

A custodian runs this on receiving a share: it checks the share against the dealer's public
commitments (Feldman check x_i·G = Σ i^j·C_j). Exit code 0 when the share is right, 1 when it is
not (escrow.share_mismatch: refuse the ceremony and ask for a new dealing). Prints the
custodian's public share Y_i, which anyone can recompute from escrow-public.json.

Examples:
  tender escrow verify-share --public escrow-public.json --share share-2.json
  tender escrow verify-share --public escrow-public.json --share /media/usb/share-2.json --json
)";

constexpr const char* share_usage =
    R"(tender escrow share — a custodian's decryption share for one sealed bid

Usage:
  tender escrow share --public escrow-public.json --share share-<i>.json
                      (--sealed BID.thsb | (--ephemeral VALUE | --ephemeral-file FILE)
                                           [--context TEXT | --context-hex HEX])
                      [--out FILE] [--force] [--json]

At the opening, each custodian computes D_i = x_i·R for the bid's ephemeral point R, with a
proof (DLEQ) that D_i was made with the real share. k such shares open that one bid and no other.
R is the bid's ephemeral point from its sealed file, as hex or base64 (--ephemeral), or in a
file (--ephemeral-file) holding either that text or a JSON object {"ephemeral": "..."}.
The context (tender id, bid digest, ...) is bound into the proof; combine must use the same one.
With --sealed the custodian works on the bid file itself: R is taken from its escrow stanza (the
file must be sealed for this escrow key), and the context is fixed to the file's header digest
(the 64 lower-case hex characters `tender inspect` shows as "header digest"), so the share opens
that one file and nothing else; `tender open --escrow-share` and `escrow combine --sealed` use
the same binding.
The share is checked against the public setup first. The result is written to --out (never
replacing a file unless --force), or printed when --out is not given. It is not secret by itself,
but together with k-1 others it opens the bid: hand it only to the opening hall.

Examples:
  tender escrow share --public escrow-public.json --share share-2.json \
      --ephemeral 02c1f3...9a --context T-2024-0001/bid-17 --out dshare-2.json
  tender escrow share --public escrow-public.json --share share-2.json \
      --ephemeral-file bid-17-ephemeral.json > dshare-2.json
  tender escrow share --public escrow-public.json --share share-2.json \
      --sealed bid-17.thsb --out dshare-2.json
)";

constexpr const char* combine_usage =
    R"(tender escrow combine — verify custodians' decryption shares and open the wrap secret

Usage:
  tender escrow combine --public escrow-public.json
                        (--sealed BID.thsb | (--ephemeral VALUE | --ephemeral-file FILE)
                                             [--context TEXT | --context-hex HEX])
                        [--json] SHARE.json...

Checks the proof of every decryption share (a bad one is reported with its file, custodian index
and label, and nothing is combined), then combines them (at least k distinct custodians) into
S = r·Y, the shared secret point the bid was sealed for, printed in hex. --ephemeral and
--context must be exactly those the custodians used; --sealed takes both from the bid file as
`escrow share --sealed` does. Exit code 0 on success, 1 when a share is
invalid or there are too few (escrow.not_enough_shares).

Examples:
  tender escrow combine --public escrow-public.json --ephemeral 02c1f3...9a \
      --context T-2024-0001/bid-17 dshare-1.json dshare-3.json dshare-4.json
  tender escrow combine --public escrow-public.json --ephemeral-file bid-17-ephemeral.json \
      --json dshare-*.json
  tender escrow combine --public escrow-public.json --sealed bid-17.thsb dshare-1.json \
      dshare-3.json dshare-4.json
)";

// Runs `f` and prefixes any crypto error with the file it came from, keeping its code (and, for
// a share error, the custodian it names).
template <class F>
auto about_escrow_file(const fs::path& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const esc::share_error& e) {
    throw esc::share_error(e.code(), path.string() + ": " + e.what(), e.index());
  } catch (const crypto::error& e) {
    throw crypto::error(e.code(), path.string() + ": " + e.what());
  }
}

esc::setup_public load_setup(const fs::path& path) {
  const std::string text = read_file(path, max_small_file);
  return about_escrow_file(path, [&] { return esc::setup_from_json(text); });
}

esc::custodian_share load_share(const fs::path& path) {
  const crypto::secure_bytes text = read_secret_file(path, max_small_file);
  return about_escrow_file(path, [&] {
    return esc::share_from_json({reinterpret_cast<const char*>(text.data()), text.size()});
  });
}

std::string label_of(const esc::setup_public& pub, std::uint32_t index) {
  if (index >= 1 && index <= pub.labels.size()) return pub.labels[index - 1];
  return "?";
}

std::string hex_of(crypto::byte_view b) {
  return crypto::hex_encode(b);
}

std::optional<std::uint32_t> parse_u32(const std::string& text) {
  const auto v = parse_u64(text);
  if (!v || *v > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

// --ephemeral / --ephemeral-file and --context / --context-hex, shared by share and combine.
void add_bid_options(po::options_description& opts) {
  opts.add_options()  //
      ("sealed", po::value<std::string>()->value_name("FILE"),
       "the sealed bid file: R from its escrow stanza, context = its header digest (hex)")  //
      ("ephemeral", po::value<std::string>()->value_name("VALUE"),
       "the bid's ephemeral point R, hex or base64")  //
      ("ephemeral-file", po::value<std::string>()->value_name("FILE"),
       "file with R: hex or base64 text, or JSON {\"ephemeral\": ...}")  //
      ("context", po::value<std::string>()->value_name("TEXT"),
       "context bound into the proofs, as text (e.g. tender id and bid digest)")  //
      ("context-hex", po::value<std::string>()->value_name("HEX"),
       "the same context given as hex bytes");
}

struct bid_inputs {
  crypto::bytes ephemeral;
  crypto::bytes context;
};

// Returns nullopt after printing a usage error (exit code in `code`).
// R and the context from a sealed file's escrow stanza and header (see sealed_files.hpp for why
// the header digest is the context). The file must be sealed for this setup's key.
bid_inputs sealed_bid_inputs(const fs::path& path, const esc::setup_public& pub) {
  const crypto::sealed::header h = read_sealed_header(path);
  const esc::public_key recipient =
      about_file(path, [&] { return crypto::sealed::escrow_recipient(h); });
  if (recipient.grp != pub.grp || recipient.point != pub.public_key) {
    throw error(codes::escrow_mismatch,
                path.string() + " was sealed for another escrow key than this setup's");
  }
  return {crypto::sealed::escrow_ephemeral(h), sealed_escrow_context(h)};
}

std::optional<bid_inputs> read_bid_inputs(context& ctx, const po::variables_map& vm,
                                          const esc::setup_public& pub, int& code) {
  const bool inline_r = vm.count("ephemeral") != 0u;
  const bool file_r = vm.count("ephemeral-file") != 0u;
  if (vm.count("sealed") != 0u) {
    if (inline_r || file_r || vm.count("context") != 0u || vm.count("context-hex") != 0u) {
      code = usage_error(ctx,
                         "--sealed takes R and the context from the bid file; drop --ephemeral, "
                         "--ephemeral-file, --context and --context-hex");
      return std::nullopt;
    }
    return sealed_bid_inputs(vm["sealed"].as<std::string>(), pub);
  }
  if (inline_r == file_r) {
    code = usage_error(ctx,
                       "give the bid's ephemeral point with exactly one of --sealed, --ephemeral "
                       "and --ephemeral-file");
    return std::nullopt;
  }
  const esc::group g = pub.grp;
  if (vm.count("context") != 0u && vm.count("context-hex") != 0u) {
    code = usage_error(ctx, "--context and --context-hex are alternatives; give one");
    return std::nullopt;
  }
  bid_inputs in;
  if (inline_r) {
    in.ephemeral = decode_fixed(vm["ephemeral"].as<std::string>(), esc::point_size(g),
                                "the ephemeral point (--ephemeral)");
  } else {
    const fs::path path = vm["ephemeral-file"].as<std::string>();
    const std::string text = read_file(path, max_small_file);
    std::string_view value = trim(text);
    json::value doc;
    if (!value.empty() && value.front() == '{') {
      json::error_code ec;
      doc = json::parse(value, ec);
      const json::value* field = ec ? nullptr : doc.as_object().if_contains("ephemeral");
      if (field == nullptr || !field->is_string()) {
        throw error(codes::bad_input,
                    path.string() + ": expected a JSON object with an \"ephemeral\" string");
      }
      value = field->get_string();
    }
    in.ephemeral = decode_fixed(value, esc::point_size(g), path.string() + ": the ephemeral point");
  }
  esc::check_point(g, in.ephemeral);
  if (vm.count("context") != 0u) {
    const auto& text = vm["context"].as<std::string>();
    in.context.assign(text.begin(), text.end());
  } else if (vm.count("context-hex") != 0u) {
    in.context = crypto::hex_decode(trim(vm["context-hex"].as<std::string>()));
  }
  return in;
}

// ---- escrow setup -------------------------------------------------------------------------------

int escrow_setup(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()                                                                              //
      ("group", po::value<std::string>()->value_name("NAME")->required(), "ristretto255 or sm2")  //
      ("threshold,k", po::value<std::string>()->value_name("K")->required(),
       "K: shares needed to open a bid")  //
      ("custodians,n", po::value<std::string>()->value_name("N")->required(),
       "N: number of custodians (K <= N <= 1000)")  //
      ("label",
       po::value<std::vector<std::string>>()->value_name("NAME")->composing()->multitoken(),
       "custodian names in index order: none, or exactly N")  //
      ("out-dir", po::value<std::string>()->value_name("DIR")->required(),
       "directory for escrow-public.json and share-<i>.json")                  //
      ("force", po::bool_switch(), "replace existing files in the directory")  //
      ("json", po::bool_switch(), "machine-readable output");
  int code = 0;
  auto vm = parse_command_args(ctx, args, setup_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  const bool force = (*vm)["force"].as<bool>();

  const auto k = parse_u32((*vm)["threshold"].as<std::string>());
  const auto n = parse_u32((*vm)["custodians"].as<std::string>());
  if (!k || !n) return usage_error(ctx, "-k and -n take positive whole numbers");
  esc::group grp{};
  try {
    grp = esc::group_from_name((*vm)["group"].as<std::string>());
  } catch (const crypto::error&) {
    return usage_error(ctx, "--group must be ristretto255 or sm2");
  }
  std::vector<std::string> labels;
  if (vm->count("label") != 0u) labels = (*vm)["label"].as<std::vector<std::string>>();

  crypto::init();
  // Dealing first checks k, n and the labels before anything touches the disk.
  const esc::dealing dealt = esc::deal(grp, *k, *n, std::move(labels));
  const fs::path dir = (*vm)["out-dir"].as<std::string>();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw error(codes::io, "cannot create " + dir.string() + ": " + ec.message());
    // The shares will be written here: keep the directory private too.
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  std::vector<fs::path> paths{dir / public_file_name};
  for (std::uint32_t i = 1; i <= dealt.pub.custodians; ++i)
    paths.push_back(dir / ("share-" + std::to_string(i) + ".json"));
  // Refuse before dealing anything, so that a half-replaced ceremony never happens.
  if (!force) {
    for (const auto& p : paths) {
      if (fs::exists(fs::symlink_status(p, ec))) {
        throw error(codes::file_exists, p.string() + " already exists (use --force to replace it)");
      }
    }
  }

  std::vector<fs::path> written;
  try {
    write_file(paths[0], esc::setup_to_json(dealt.pub) + "\n", {force, false});
    written.push_back(paths[0]);
    for (const auto& share : dealt.shares) {
      crypto::secure_bytes text = esc::share_to_json(share);
      const fs::path& p = paths[share.index];
      write_file(p, text.view(), {force, true});
      written.push_back(p);
    }
  } catch (...) {
    // A partial ceremony is useless and its shares are secrets: remove what was written.
    for (const auto& p : written)
      fs::remove(p, ec);
    throw;
  }

  const auto& pub = dealt.pub;
  const std::string reminder =
      "IMPORTANT: give each share-<i>.json privately to custodian i and to no one else.\n"
      "Each custodian checks theirs with `tender escrow verify-share`. Then destroy the\n"
      "dealer's copies, for example: shred -u " +
      (dir / "share-*.json").string() + "\nWhoever holds " + std::to_string(pub.threshold) +
      " shares can open every bid sealed for this key.\n";
  if (as_json) {
    json::array shares;
    for (std::uint32_t i = 1; i <= pub.custodians; ++i) {
      shares.push_back(
          json::object{{"index", i}, {"label", label_of(pub, i)}, {"file", paths[i].string()}});
    }
    ctx.out << json::serialize(json::object{{"group", esc::group_name(pub.grp)},
                                            {"threshold", pub.threshold},
                                            {"custodians", pub.custodians},
                                            {"public_key", hex_of(pub.public_key)},
                                            {"public_file", paths[0].string()},
                                            {"shares", std::move(shares)}})
            << "\n";
    ctx.err << reminder;
  } else {
    ctx.out << "escrow key dealt: " << esc::group_name(pub.grp) << ", any " << pub.threshold
            << " of " << pub.custodians << " custodians can open\n"
            << "public key:   " << hex_of(pub.public_key) << "\n"
            << "public setup: " << paths[0].string() << "  (publish it with the tender)\n"
            << "secret shares (mode 0600):\n";
    std::size_t width = 0;
    for (const auto& l : pub.labels)
      width = std::max(width, l.size());
    for (std::uint32_t i = 1; i <= pub.custodians; ++i) {
      const std::string label = label_of(pub, i);
      ctx.out << "  " << std::setw(4) << i << "  " << label
              << std::string(width - label.size(), ' ') << "  " << paths[i].string() << "\n";
    }
    ctx.out << "\n" << reminder;
  }
  return exit_ok;
}

// ---- escrow verify-share ------------------------------------------------------------------------

int escrow_verify_share(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("public", po::value<std::string>()->value_name("FILE")->required(),
       "the public setup (escrow-public.json)")  //
      ("share", po::value<std::string>()->value_name("FILE")->required(),
       "your share file (share-<i>.json)")  //
      ("json", po::bool_switch(), "machine-readable output");
  int code = 0;
  auto vm = parse_command_args(ctx, args, verify_share_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();

  crypto::init();
  const fs::path share_path = (*vm)["share"].as<std::string>();
  const esc::setup_public pub = load_setup((*vm)["public"].as<std::string>());
  const esc::custodian_share share = load_share(share_path);
  about_escrow_file(share_path, [&] { esc::verify_share(pub, share); });

  const std::string y_i = hex_of(esc::public_share(pub, share.index));
  if (as_json) {
    ctx.out << json::serialize(json::object{{"valid", true},
                                            {"index", share.index},
                                            {"label", label_of(pub, share.index)},
                                            {"group", esc::group_name(pub.grp)},
                                            {"threshold", pub.threshold},
                                            {"custodians", pub.custodians},
                                            {"public_key", hex_of(pub.public_key)},
                                            {"public_share", y_i}})
            << "\n";
  } else {
    ctx.out << "share OK: custodian " << share.index << " (" << label_of(pub, share.index)
            << ") of a " << esc::group_name(pub.grp) << " escrow, " << pub.threshold << " of "
            << pub.custodians << "\n"
            << "public key:   " << hex_of(pub.public_key) << "\n"
            << "public share: " << y_i << "\n"
            << "Keep " << share_path.string() << " secret and offline until the opening.\n";
  }
  return exit_ok;
}

// ---- escrow share -------------------------------------------------------------------------------

int escrow_share(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("public", po::value<std::string>()->value_name("FILE")->required(),
       "the public setup (escrow-public.json)")  //
      ("share", po::value<std::string>()->value_name("FILE")->required(),
       "your share file (share-<i>.json)");
  add_bid_options(opts);
  opts.add_options()  //
      ("out", po::value<std::string>()->value_name("FILE"),
       "write the decryption share here (default: print it)")     //
      ("force", po::bool_switch(), "replace --out if it exists")  //
      ("json", po::bool_switch(), "machine-readable summary (with --out)");
  int code = 0;
  auto vm = parse_command_args(ctx, args, share_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();

  crypto::init();
  const fs::path share_path = (*vm)["share"].as<std::string>();
  const esc::setup_public pub = load_setup((*vm)["public"].as<std::string>());
  const auto bid = read_bid_inputs(ctx, *vm, pub, code);
  if (!bid) return code;
  const esc::custodian_share share = load_share(share_path);
  const esc::decryption_share ds = about_escrow_file(share_path, [&] {
    return esc::make_decryption_share(pub, share, bid->ephemeral, bid->context);
  });
  // Check our own output before it leaves: a fault while computing must not reach the hall.
  esc::verify_decryption_share(pub, bid->ephemeral, ds, bid->context);

  const std::string text = esc::decryption_share_to_json(ds) + "\n";
  if (vm->count("out") == 0u) {
    ctx.out << text;
    return exit_ok;
  }
  const fs::path out = (*vm)["out"].as<std::string>();
  write_file(out, text, {(*vm)["force"].as<bool>(), false});
  if (as_json) {
    ctx.out << json::serialize(json::object{{"index", ds.index},
                                            {"label", label_of(pub, ds.index)},
                                            {"ephemeral", hex_of(bid->ephemeral)},
                                            {"file", out.string()}})
            << "\n";
  } else {
    ctx.out << "decryption share of custodian " << ds.index << " (" << label_of(pub, ds.index)
            << ") for R " << hex_of(bid->ephemeral) << " written to " << out.string() << "\n";
  }
  return exit_ok;
}

// ---- escrow combine -----------------------------------------------------------------------------

int escrow_combine(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("public", po::value<std::string>()->value_name("FILE")->required(),
       "the public setup (escrow-public.json)");
  add_bid_options(opts);
  opts.add_options()                                          //
      ("json", po::bool_switch(), "machine-readable output")  //
      ("shares", po::value<std::vector<std::string>>()->value_name("FILE"),
       "decryption share files");
  po::positional_options_description positional;
  positional.add("shares", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, combine_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("shares") == 0u) return usage_error(ctx, "no decryption share files given");
  const auto files = (*vm)["shares"].as<std::vector<std::string>>();

  crypto::init();
  const esc::setup_public pub = load_setup((*vm)["public"].as<std::string>());
  const auto bid = read_bid_inputs(ctx, *vm, pub, code);
  if (!bid) return code;

  std::vector<esc::decryption_share> shares;
  for (const auto& f : files) {
    const std::string text = read_file(f, max_small_file);
    shares.push_back(about_escrow_file(f, [&] { return esc::decryption_share_from_json(text); }));
  }
  // Every share is checked and every bad one reported, so the hall learns all the custodians
  // who must produce theirs again, not just the first.
  bool all_valid = true;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    try {
      esc::verify_decryption_share(pub, bid->ephemeral, shares[i], bid->context);
    } catch (const crypto::error& e) {
      all_valid = false;
      ctx.err << "tender: " << files[i] << ": custodian " << shares[i].index << " ("
              << label_of(pub, shares[i].index) << "): " << e.what() << " [" << e.code() << "]\n";
    }
  }
  if (!all_valid) return exit_failure;

  const crypto::secure_bytes secret = esc::combine(pub, bid->ephemeral, shares, bid->context);
  std::string secret_hex = hex_of(secret.view());
  if (as_json) {
    json::array used;
    for (std::size_t i = 0; i < shares.size(); ++i) {
      used.push_back(json::object{{"index", shares[i].index},
                                  {"label", label_of(pub, shares[i].index)},
                                  {"file", files[i]}});
    }
    ctx.out << json::serialize(json::object{{"group", esc::group_name(pub.grp)},
                                            {"ephemeral", hex_of(bid->ephemeral)},
                                            {"shares", std::move(used)},
                                            {"shared_secret", secret_hex}})
            << "\n";
  } else {
    ctx.out << "verified " << shares.size() << " decryption shares (need " << pub.threshold << "):";
    for (const auto& s : shares)
      ctx.out << " " << s.index << " (" << label_of(pub, s.index) << ")";
    ctx.out << "\nshared secret: " << secret_hex << "\n";
  }
  crypto::secure_wipe(secret_hex.data(), secret_hex.size());
  return exit_ok;
}

}  // namespace

void add_escrow_commands(std::vector<command>& out) {
  out.push_back({"escrow setup",
                 "deal a k-of-n threshold escrow key: public setup and one share per custodian",
                 escrow_setup});
  out.push_back({"escrow verify-share", "check a custodian's share against the public setup",
                 escrow_verify_share});
  out.push_back(
      {"escrow share", "make a custodian's decryption share for one sealed bid", escrow_share});
  out.push_back({"escrow combine",
                 "verify k decryption shares and recover a bid's shared secret point",
                 escrow_combine});
}

}  // namespace tender::cli
