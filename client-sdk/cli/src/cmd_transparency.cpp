// tender verify-proof and tender checkpoint verify — offline checks of the transparency log:
// RFC 6962 inclusion and consistency proofs, and C2SP signed checkpoints.

#include "command.hpp"
#include "io.hpp"

#include <tender/crypto/init.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <filesystem>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace merkle = crypto::merkle;
namespace note = crypto::note;
namespace json = boost::json;

namespace {

constexpr const char* verify_proof_usage =
    R"(tender verify-proof — check a Merkle inclusion or consistency proof of the transparency log

Usage:
  inclusion:   tender verify-proof (--leaf-hash HASH | --leaf-data FILE) --index N
                   (--size N --root HASH | --checkpoint FILE --key VKEY...) --proof FILE
  consistency: tender verify-proof (--old-size N --old-root HASH | --old-checkpoint FILE)
                   (--new-size N --new-root HASH | --new-checkpoint FILE) [--key VKEY...]
                   --proof FILE
  common:      [--key-file FILE] [--origin NAME] [--json]

Inclusion: the log entry (its RFC 6962 leaf hash, or the entry's bytes in --leaf-data, which are
hashed as SHA-256(0x00 || data)) is entry N of the tree of the given size and root.
Consistency: the old tree is a prefix of the new one, i.e. the log only appended.
A proof only ties a root to a size through a signed checkpoint: prefer --checkpoint (or
--old-/--new-checkpoint), which verifies the checkpoint's signatures with the --key verifier
keys (and its origin with --origin) and takes the size and root from it.

HASH is 32 bytes as 64 hex digits or in base64. The proof FILE is a JSON list of hashes, a JSON
object with a "proof" list, or one hash per line (an empty file is an empty proof).
Exit code 0 when the proof holds, 1 when it does not (merkle.root_mismatch,
merkle.bad_proof_length, note.bad_signature, ...).

Examples:
  tender verify-proof --leaf-data receipt-entry.bin --index 41 --checkpoint checkpoint.txt \
      --key 'tenderhall.example/audit+1a2b3c4d+AXr...' --proof inclusion.json
  tender verify-proof --leaf-hash 9f86d0...0a08 --index 3 --size 7 --root 5dc9da...4328 \
      --proof path.txt
  tender verify-proof --old-checkpoint cp-100.txt --new-checkpoint cp-250.txt \
      --key-file log-keys.txt --proof consistency.json --json
)";

constexpr const char* checkpoint_verify_usage =
    R"(tender checkpoint verify — check a signed transparency-log checkpoint

Usage:
  tender checkpoint verify (--key VKEY... | --key-file FILE) [--origin NAME] [--json] FILE

FILE is a C2SP signed note holding a checkpoint (origin, tree size, root hash). Every signature
by one of the given verifier keys must verify and at least one must be present; signatures by
other keys are listed but not trusted. With --origin the checkpoint must be for that log.
Prints the origin, size, root and signers. Exit code 0 when valid, 1 otherwise
(note.bad_signature, note.no_known_signature, checkpoint.wrong_origin, ...).
A verifier key looks like <name>+<8 hex digits>+<base64>; a key file has one per line
(blank lines and lines starting with # are ignored).

Examples:
  tender checkpoint verify --key 'tenderhall.example/audit+1a2b3c4d+AXr...' checkpoint.txt
  tender checkpoint verify --key-file log-keys.txt --origin tenderhall.example/audit --json cp.txt
)";

std::string hex_of(crypto::byte_view b) {
  return crypto::hex_encode(b);
}

std::string key_id_hex(std::uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(id));
  return buf;
}

std::string describe(const note::signature& s) {
  return s.name + "+" + key_id_hex(s.id);
}

void add_key_options(po::options_description& opts) {
  opts.add_options()  //
      ("key", po::value<std::vector<std::string>>()->value_name("VKEY")->composing(),
       "trusted verifier key <name>+<id>+<base64> (repeatable)")  //
      ("key-file", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
       "file of trusted verifier keys, one per line (repeatable)")  //
      ("origin", po::value<std::string>()->value_name("NAME"),
       "the checkpoint must be for this log origin");
}

std::vector<note::verifier_key> load_keys(const po::variables_map& vm) {
  std::vector<note::verifier_key> keys;
  if (vm.count("key") != 0u) {
    for (const auto& k : vm["key"].as<std::vector<std::string>>())
      keys.push_back(note::parse_verifier_key(trim(k)));
  }
  if (vm.count("key-file") != 0u) {
    for (const auto& f : vm["key-file"].as<std::vector<std::string>>()) {
      const std::string text = read_file(f, max_small_file);
      for (const auto& line : split_lines(text)) {
        const std::string_view k = trim(line);
        if (k.empty() || k.front() == '#') continue;
        about_file(f, [&] { keys.push_back(note::parse_verifier_key(k)); });
      }
    }
  }
  return keys;
}

bool has_keys(const po::variables_map& vm) {
  return vm.count("key") != 0u || vm.count("key-file") != 0u;
}

note::opened_checkpoint open_checkpoint_file(const fs::path& path,
                                             const std::vector<note::verifier_key>& keys,
                                             const po::variables_map& vm) {
  const std::string text = read_file(path, max_small_file);
  return about_file(path, [&] {
    if (vm.count("origin") != 0u) {
      return note::open_checkpoint(text, vm["origin"].as<std::string>(), keys);
    }
    // No expected origin: the signatures still authenticate the checkpoint, and the origin is
    // printed for the reader to judge.
    note::opened_checkpoint out;
    out.note = note::open(text, keys);
    out.cp = note::parse_checkpoint(out.note.text);
    return out;
  });
}

json::object checkpoint_json(const note::opened_checkpoint& oc) {
  json::array signers;
  for (const auto& s : oc.note.verified)
    signers.push_back(json::value(describe(s)));
  json::array unknown;
  for (const auto& s : oc.note.unverified)
    unknown.push_back(json::value(describe(s)));
  json::array ext;
  for (const auto& e : oc.cp.extensions)
    ext.push_back(json::value(e));
  return {{"origin", oc.cp.origin},
          {"size", oc.cp.size},
          {"root", hex_of(oc.cp.root)},
          {"root_base64", crypto::base64_encode(oc.cp.root)},
          {"extensions", std::move(ext)},
          {"signers", std::move(signers)},
          {"unknown_signers", std::move(unknown)}};
}

// One side of a proof: a tree size and root, from the command line or from a signed checkpoint.
struct tree_head {
  std::uint64_t size = 0;
  merkle::hash root{};
  std::optional<note::opened_checkpoint> checkpoint;  // set when it came from one
};

// Reads --<prefix>size/--<prefix>root or --<prefix>checkpoint. nullopt after a usage error.
std::optional<tree_head> read_tree_head(context& ctx, const po::variables_map& vm,
                                        const std::string& prefix,
                                        const std::vector<note::verifier_key>& keys, int& code) {
  const std::string size_opt = prefix + "size";
  const std::string root_opt = prefix + "root";
  const std::string cp_opt = prefix + "checkpoint";
  const bool has_size = vm.count(size_opt) != 0u;
  const bool has_root = vm.count(root_opt) != 0u;
  tree_head head;
  if (vm.count(cp_opt) != 0u) {
    if (has_size || has_root) {
      code = usage_error(ctx, "give either --" + cp_opt + " or --" + size_opt + " with --" +
                                  root_opt + ", not both");
      return std::nullopt;
    }
    if (keys.empty()) {
      code =
          usage_error(ctx, "--" + cp_opt + " needs the log's verifier key (--key or --key-file)");
      return std::nullopt;
    }
    head.checkpoint = open_checkpoint_file(vm[cp_opt].as<std::string>(), keys, vm);
    head.size = head.checkpoint->cp.size;
    head.root = head.checkpoint->cp.root;
    return head;
  }
  if (!has_size || !has_root) {
    code = usage_error(ctx, "need --" + size_opt + " and --" + root_opt + ", or --" + cp_opt);
    return std::nullopt;
  }
  const auto size = parse_u64(vm[size_opt].as<std::string>());
  if (!size) {
    code = usage_error(ctx, "--" + size_opt + " takes a whole number");
    return std::nullopt;
  }
  head.size = *size;
  head.root = merkle::hash_from_bytes(
      decode_fixed(vm[root_opt].as<std::string>(), head.root.size(), "--" + root_opt));
  return head;
}

std::vector<merkle::hash> load_proof(const fs::path& path) {
  const std::string text = read_file(path, max_small_file);
  const std::string_view body = trim(text);
  std::vector<std::string> items;
  if (!body.empty() && (body.front() == '[' || body.front() == '{')) {
    json::error_code ec;
    const json::value doc = json::parse(body, ec);
    const json::value* list = &doc;
    if (!ec && doc.is_object()) list = doc.as_object().if_contains("proof");
    if (ec || list == nullptr || !list->is_array()) {
      throw error(codes::bad_input, path.string() +
                                        ": expected a JSON list of hashes or an object with a "
                                        "\"proof\" list");
    }
    for (const auto& v : list->as_array()) {
      if (!v.is_string()) {
        throw error(codes::bad_input, path.string() + ": every proof element must be a string");
      }
      items.emplace_back(v.get_string());
    }
  } else {
    for (const auto& line : split_lines(body)) {
      const std::string_view item = trim(line);
      if (!item.empty() && item.front() != '#') items.emplace_back(item);
    }
  }
  std::vector<merkle::hash> proof;
  for (std::size_t i = 0; i < items.size(); ++i) {
    proof.push_back(merkle::hash_from_bytes(
        decode_fixed(items[i], 32, path.string() + ": proof hash " + std::to_string(i + 1))));
  }
  return proof;
}

std::string source_of(const tree_head& h) {
  if (!h.checkpoint) return "given on the command line";
  std::string s = "from checkpoint of " + h.checkpoint->cp.origin + ", signed by";
  for (const auto& sig : h.checkpoint->note.verified)
    s += " " + describe(sig);
  return s;
}

json::object tree_json(const tree_head& h) {
  json::object o{{"size", h.size}, {"root", hex_of(h.root)}};
  if (h.checkpoint) o["checkpoint"] = checkpoint_json(*h.checkpoint);
  return o;
}

// The checks themselves, once the options make sense. Crypto failures (a bad checkpoint
// signature, a malformed key) are verdicts too and reach the caller as exceptions.
int check_proof(context& ctx, const po::variables_map& vm, bool as_json) {
  auto any_of = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (vm.count(n) != 0u) return true;
    }
    return false;
  };
  int code = 0;
  const bool inclusion = any_of({"leaf-hash", "leaf-data", "index", "size", "root", "checkpoint"});
  const auto keys = load_keys(vm);
  const fs::path proof_path = vm["proof"].as<std::string>();

  if (inclusion) {
    if (any_of({"leaf-hash"}) == any_of({"leaf-data"})) {
      return usage_error(ctx, "give the entry with exactly one of --leaf-hash and --leaf-data");
    }
    if (!any_of({"index"})) return usage_error(ctx, "--index N is required");
    const auto index = parse_u64(vm["index"].as<std::string>());
    if (!index) return usage_error(ctx, "--index takes a whole number");
    const auto head = read_tree_head(ctx, vm, "", keys, code);
    if (!head) return code;
    merkle::hash leaf{};
    if (any_of({"leaf-hash"})) {
      leaf = merkle::hash_from_bytes(
          decode_fixed(vm["leaf-hash"].as<std::string>(), leaf.size(), "--leaf-hash"));
    } else {
      leaf = merkle::leaf_hash(
          crypto::as_bytes(read_file(vm["leaf-data"].as<std::string>(), max_large_file)));
    }
    const auto proof = load_proof(proof_path);
    if (const char* bad = merkle::inclusion_error(*index, head->size, leaf, proof, head->root)) {
      return report_invalid(ctx, as_json, bad,
                            "the inclusion proof does not show leaf " + hex_of(leaf) +
                                " at index " + std::to_string(*index) + " in the tree of size " +
                                std::to_string(head->size) + " with root " + hex_of(head->root));
    }
    if (as_json) {
      ctx.out << json::serialize(json::object{{"valid", true},
                                              {"kind", "inclusion"},
                                              {"leaf_hash", hex_of(leaf)},
                                              {"index", *index},
                                              {"tree", tree_json(*head)}})
              << "\n";
    } else {
      ctx.out << "inclusion proof OK: leaf " << hex_of(leaf) << " is entry " << *index
              << " of the tree of size " << head->size << "\n"
              << "root " << hex_of(head->root) << " " << source_of(*head) << "\n";
    }
    return exit_ok;
  }

  const auto old_head = read_tree_head(ctx, vm, "old-", keys, code);
  if (!old_head) return code;
  const auto new_head = read_tree_head(ctx, vm, "new-", keys, code);
  if (!new_head) return code;
  const auto proof = load_proof(proof_path);
  if (const char* bad = merkle::consistency_error(old_head->size, new_head->size, old_head->root,
                                                  new_head->root, proof)) {
    return report_invalid(ctx, as_json, bad,
                          "the consistency proof does not show the tree of size " +
                              std::to_string(old_head->size) + " as a prefix of the tree of size " +
                              std::to_string(new_head->size));
  }
  if (as_json) {
    ctx.out << json::serialize(json::object{{"valid", true},
                                            {"kind", "consistency"},
                                            {"old", tree_json(*old_head)},
                                            {"new", tree_json(*new_head)}})
            << "\n";
  } else {
    ctx.out << "consistency proof OK: the tree of size " << old_head->size
            << " is a prefix of the tree of size " << new_head->size << "\n"
            << "old root " << hex_of(old_head->root) << " " << source_of(*old_head) << "\n"
            << "new root " << hex_of(new_head->root) << " " << source_of(*new_head) << "\n";
  }
  return exit_ok;
}

// ---- verify-proof -------------------------------------------------------------------------------

int verify_proof(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("leaf-hash", po::value<std::string>()->value_name("HASH"),
       "inclusion: the entry's RFC 6962 leaf hash")  //
      ("leaf-data", po::value<std::string>()->value_name("FILE"),
       "inclusion: file with the entry's bytes")  //
      ("index", po::value<std::string>()->value_name("N"),
       "inclusion: the entry's index N (from 0)")                                          //
      ("size", po::value<std::string>()->value_name("N"), "inclusion: tree size")          //
      ("root", po::value<std::string>()->value_name("HASH"), "inclusion: tree root hash")  //
      ("checkpoint", po::value<std::string>()->value_name("FILE"),
       "inclusion: signed checkpoint giving size and root")                                     //
      ("old-size", po::value<std::string>()->value_name("N"), "consistency: old tree size")     //
      ("old-root", po::value<std::string>()->value_name("HASH"), "consistency: old root hash")  //
      ("old-checkpoint", po::value<std::string>()->value_name("FILE"),
       "consistency: old signed checkpoint")                                                    //
      ("new-size", po::value<std::string>()->value_name("N"), "consistency: new tree size")     //
      ("new-root", po::value<std::string>()->value_name("HASH"), "consistency: new root hash")  //
      ("new-checkpoint", po::value<std::string>()->value_name("FILE"),
       "consistency: new signed checkpoint")  //
      ("proof", po::value<std::string>()->value_name("FILE"),
       "the proof hashes (JSON list or one per line)");
  add_key_options(opts);
  opts.add_options()("json", po::bool_switch(), "machine-readable output");
  int code = 0;
  auto vm = parse_command_args(ctx, args, verify_proof_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();

  auto any_of = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (vm->count(n) != 0u) return true;
    }
    return false;
  };
  const bool inclusion = any_of({"leaf-hash", "leaf-data", "index", "size", "root", "checkpoint"});
  const bool consistency =
      any_of({"old-size", "old-root", "old-checkpoint", "new-size", "new-root", "new-checkpoint"});
  if (inclusion == consistency) {
    return usage_error(ctx, inclusion ? "inclusion options (--leaf-*, --index, --size, --root, "
                                        "--checkpoint) and consistency options (--old-*, --new-*) "
                                        "cannot be mixed"
                                      : "nothing to verify: give an inclusion or a consistency "
                                        "proof's options");
  }
  if (vm->count("proof") == 0u) return usage_error(ctx, "--proof FILE is required");
  if ((has_keys(*vm) || any_of({"origin"})) &&
      !any_of({"checkpoint", "old-checkpoint", "new-checkpoint"})) {
    return usage_error(ctx,
                       "--key, --key-file and --origin check checkpoints; give one with "
                       "--checkpoint (or --old-/--new-checkpoint)");
  }

  crypto::init();
  try {
    return check_proof(ctx, *vm, as_json);
  } catch (const crypto::error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  }
}

// ---- checkpoint verify --------------------------------------------------------------------------

int checkpoint_verify(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  add_key_options(opts);
  opts.add_options()                                          //
      ("json", po::bool_switch(), "machine-readable output")  //
      ("file", po::value<std::vector<std::string>>()->value_name("FILE"), "the signed checkpoint");
  po::positional_options_description positional;
  positional.add("file", -1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, checkpoint_verify_usage, opts, positional, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("file") == 0u || (*vm)["file"].as<std::vector<std::string>>().size() != 1) {
    return usage_error(ctx, "give exactly one checkpoint FILE");
  }
  if (!has_keys(*vm)) return usage_error(ctx, "give the log's verifier key (--key or --key-file)");

  crypto::init();
  const auto keys = load_keys(*vm);
  const fs::path path = (*vm)["file"].as<std::vector<std::string>>().front();
  note::opened_checkpoint oc;
  try {
    oc = open_checkpoint_file(path, keys, *vm);
  } catch (const crypto::error& e) {
    return report_invalid(ctx, as_json, e.code(), e.what());
  }
  if (as_json) {
    json::object o = checkpoint_json(oc);
    o.emplace("valid", true);
    ctx.out << json::serialize(o) << "\n";
    return exit_ok;
  }
  ctx.out << "checkpoint OK\n"
          << "origin:    " << oc.cp.origin << "\n"
          << "size:      " << oc.cp.size << "\n"
          << "root:      " << hex_of(oc.cp.root) << "\n";
  for (const auto& s : oc.note.verified)
    ctx.out << "signed by: " << describe(s) << "\n";
  for (const auto& s : oc.note.unverified)
    ctx.out << "ignored:   signature by unknown key " << describe(s) << "\n";
  for (const auto& e : oc.cp.extensions)
    ctx.out << "extension: " << e << "\n";
  return exit_ok;
}

}  // namespace

void add_transparency_commands(std::vector<command>& out) {
  out.push_back(
      {"verify-proof", "check a Merkle inclusion or consistency proof (offline)", verify_proof});
  out.push_back({"checkpoint verify",
                 "check a signed log checkpoint and show its origin, size, root and signers",
                 checkpoint_verify});
}

}  // namespace tender::cli
