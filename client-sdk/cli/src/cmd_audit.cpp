// tender audit verify — checks a tenderd's audit log end to end: the signed checkpoint, every
// event's leaf recomputed from its fields, the root, sample inclusion proofs and, with --state,
// that the log only grew since the last run (protocol/docs/audit-log.md).

#include "command.hpp"
#include "io.hpp"

#include <tender/crypto/digest.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/protocol/audit.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace merkle = crypto::merkle;
namespace note = crypto::note;
namespace paudit = protocol::audit;
namespace json = boost::json;

namespace {

constexpr const char* audit_verify_usage =
    R"(tender audit verify — check that the server's audit log is intact and was never rewritten

Usage:
  tender [--server URL] audit verify [--key VKEY... | --key-file FILE] [--origin NAME]
                                     [--state FILE] [--spot-checks N] [--token-file F]
                                     [--json]

The checkpoint, the key and the proofs are public, but the events themselves say who did what
(who downloaded a tender's documents, who asked a question) and are confidential: reading them
needs a signed-in supervisor, admin or center_staff user. Until a tender's bidder list is
published its events are withheld from everyone but supervisors (SPEC §13): they come with their
leaf hash only, which still enters the root and the proofs. Each event read in full comes with its
salt, the secret that keeps its public leaf hash from being matched against guessed fields;
without it no leaf can be recomputed. Log in first (tender login); the saved token (--token-file,
default ~/.config/tenderhall/token) is sent with every request. Without one the server answers
auth.required, with another role auth.forbidden.

1. Fetches the latest signed checkpoint (GET /api/v1/log/checkpoint) and verifies its signature
   with the log's verifier key.
2. Fetches every event the checkpoint covers, recomputes each leaf from the event's fields and
   salt (a v1 leaf for an event logged before salts) and checks it against the stored leaf and
   leaf hash, then recomputes the Merkle root and compares it with the checkpoint's. An UPDATE
   or DELETE run directly on the events table shows here.
3. Checks the server's inclusion proofs for the first and last events and N others at random.
4. With --state FILE: if FILE holds a checkpoint from an earlier run, fetches a consistency
   proof from it to the new one, which shows the new log extends the old one (a rewritten past
   shows here even if the events and the root were recomputed). On success FILE is updated.

The verifier key (<name>+<8 hex digits>+<base64>) should come from the operator through a
channel you trust (`tenderd keygen` prints it). Without --key or --key-file, the key remembered
in --state is used, and otherwise the server's own GET /api/v1/log/key (trust on first use: a
warning is printed).

Exit code 0 when the log is valid, 1 when it is not or cannot be checked, with a code:
  audit.event_mismatch      an event's fields do not match its stored leaf data or leaf hash
  audit.missing_events      events are missing below the checkpoint's size
  audit.root_mismatch       the events do not make the checkpoint's root
  audit.inclusion_failed    an inclusion proof from the server does not verify
  audit.consistency_failed  the log is not an extension of the checkpoint in --state
  audit.log_shrunk          the log is smaller than the checkpoint in --state
  audit.bad_state           the --state file cannot be used
  note.* / checkpoint.*     the checkpoint's signature or form is wrong (note.bad_signature, ...)
  client.* / log.* / service.*  the server could not be reached or answered an error

Examples:
  tender --server https://hall.example.org audit verify \
      --key 'tenderhall/prod+1a2b3c4d+AXr...' --state ~/.tender/audit-state.json
  tender audit verify --key-file log-key.txt --json
)";

// The saved session token: from --token-file (which must exist), else from the default file
// when there is one. Without a token the events are refused, and the verdict says so.
std::optional<std::string> saved_token(const po::variables_map& vm) {
  fs::path path;
  const bool given = vm.count("token-file") != 0u;
  if (given) {
    path = vm["token-file"].as<std::string>();
  } else {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') return std::nullopt;
    path = fs::path(home) / ".config" / "tenderhall" / "token";
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (given) {
      throw error(codes::io, "no session token at " + path.string() + "; run tender login first");
    }
    return std::nullopt;
  }
  return std::string(trim(read_file(path, 4096)));
}

// Events per request; the server caps pages at 1000.
constexpr std::uint64_t page_size = 1000;
constexpr std::string_view state_format = "tenderhall-audit-state/v1";

// A checkpoint remembered between runs.
struct remembered {
  std::string origin;
  std::string verifier_key;
  std::string note;  // the signed checkpoint as it was verified
  std::uint64_t size = 0;
  merkle::hash root{};
};

std::string hex(const merkle::hash& h) {
  return crypto::to_hex(h);
}

[[noreturn]] void bad_state(const fs::path& path, const std::string& why) {
  throw error(codes::audit_bad_state, path.string() + ": " + why);
}

// Reads --state; nullopt when the file does not exist yet (the first run). The checkpoint in it
// is opened again with the key stored beside it, so a hand-edited size or root is refused.
std::optional<remembered> load_state(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  const std::string text = read_file(path, max_small_file);
  json::error_code jec;
  const json::value doc = json::parse(text, jec);
  const json::object* o = (!jec && doc.is_object()) ? &doc.get_object() : nullptr;
  if (o == nullptr) bad_state(path, "not a JSON object");
  auto str = [&](const char* name) {
    const auto* v = o->if_contains(name);
    if (v == nullptr || !v->is_string())
      bad_state(path, std::string("no string field '") + name + "'");
    return std::string(v->get_string());
  };
  if (str("format") != state_format) {
    bad_state(path,
              "not a tender audit state file (format is not " + std::string(state_format) + ")");
  }
  remembered r;
  r.origin = str("origin");
  r.verifier_key = str("verifier_key");
  r.note = str("checkpoint");
  try {
    const note::verifier_key keys[] = {note::parse_verifier_key(r.verifier_key)};
    const auto opened = note::open_checkpoint(r.note, r.origin, keys);
    r.size = opened.cp.size;
    r.root = opened.cp.root;
  } catch (const crypto::error& e) {
    bad_state(path, std::string("its checkpoint does not verify with its own key: ") + e.what() +
                        " [" + e.code() + "]");
  }
  return r;
}

// Replaces --state whole: written beside it, then renamed over it, so a crash never leaves half.
void save_state(const fs::path& path, const remembered& r) {
  const json::object doc{
      {"format", state_format}, {"origin", r.origin},  {"verifier_key", r.verifier_key},
      {"size", r.size},         {"root", hex(r.root)}, {"checkpoint", r.note}};
  fs::path tmp = path;
  tmp += ".tmp";
  write_file(tmp, pretty_json(doc) + "\n", write_mode{true, false});
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw error(codes::io, "cannot replace " + path.string() + ": " + ec.message());
}

std::vector<note::verifier_key> keys_from_options(const po::variables_map& vm) {
  std::vector<note::verifier_key> keys;
  if (vm.count("key") != 0u) {
    for (const auto& k : vm["key"].as<std::vector<std::string>>())
      keys.push_back(note::parse_verifier_key(trim(k)));
  }
  if (vm.count("key-file") != 0u) {
    const fs::path f = vm["key-file"].as<std::string>();
    for (const auto& line : split_lines(read_file(f, max_small_file))) {
      const std::string_view k = trim(line);
      if (k.empty() || k.front() == '#') continue;
      about_file(f, [&] { keys.push_back(note::parse_verifier_key(k)); });
    }
    if (keys.empty()) throw error(codes::bad_input, f.string() + " holds no verifier key");
  }
  return keys;
}

merkle::hash hash_from_hex(const std::string& text, const std::string& what, const char* code) {
  if (text.size() != 64) throw error(code, what + " is not a 32-byte hash in hex");
  try {
    return merkle::hash_from_bytes(crypto::hex_decode(text));
  } catch (const crypto::error&) {
    throw error(code, what + " is not a 32-byte hash in hex");
  }
}

// Every event below `size`, each leaf recomputed from the fields. Returns the leaf hashes. An
// event withheld from this reader (audit-log.md §4) adds its stored leaf hash, which the root and
// the inclusion proofs still check; `withheld` counts them.
std::vector<merkle::hash> recompute_leaves(client::client& c, std::uint64_t size,
                                           std::uint64_t& withheld) {
  std::vector<merkle::hash> leaves;
  leaves.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1u << 20)));
  std::uint64_t next = 0;
  while (next < size) {
    const auto page = c.log_events(next, std::min(page_size, size - next));
    if (page.events.empty()) {
      throw error(codes::audit_missing_events, "the checkpoint covers " + std::to_string(size) +
                                                   " events but the server has none from event " +
                                                   std::to_string(next) +
                                                   " on (events were deleted)");
    }
    for (const auto& rec : page.events) {
      const paudit::event& ev = rec.fields;
      if (ev.seq >= size) return leaves;
      if (ev.seq != next) {
        throw error(codes::audit_missing_events, "event " + std::to_string(next) +
                                                     " is missing: the server went on with event " +
                                                     std::to_string(ev.seq) +
                                                     " (events were deleted or renumbered)");
      }
      const std::string where = "event " + std::to_string(ev.seq);
      if (rec.withheld) {
        leaves.push_back(
            hash_from_hex(rec.leaf_hash_hex, where + " leaf_hash", codes::audit_event_mismatch));
        ++withheld;
        ++next;
        continue;
      }
      if (const auto problem = paudit::check_event(ev); !problem.empty()) {
        throw error(codes::audit_event_mismatch, where + " has invalid fields: " + problem);
      }
      const std::string data = paudit::leaf_data(ev);
      crypto::bytes stored;
      try {
        if (!rec.leaf_data_base64.empty()) stored = crypto::base64_decode(rec.leaf_data_base64);
      } catch (const crypto::error&) {
        throw error(codes::audit_event_mismatch, where + ": its leaf data is not valid base64");
      }
      if (!std::equal(stored.begin(), stored.end(), data.begin(), data.end(),
                      [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); })) {
        throw error(codes::audit_event_mismatch,
                    where + " (" + ev.action + " by " + ev.actor +
                        "): its fields do not match its stored leaf data (the events table was "
                        "changed after the event was logged)");
      }
      const merkle::hash leaf = merkle::leaf_hash(crypto::as_bytes(data));
      if (hash_from_hex(rec.leaf_hash_hex, where + " leaf_hash", codes::audit_event_mismatch) !=
          leaf) {
        throw error(codes::audit_event_mismatch,
                    where + ": its stored leaf hash is not the hash of its leaf data");
      }
      leaves.push_back(leaf);
      ++next;
    }
  }
  return leaves;
}

// The first and last events and up to `extra` others chosen at random.
std::vector<std::uint64_t> spot_indexes(std::uint64_t size, unsigned extra) {
  std::set<std::uint64_t> picked{0, size - 1};
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  std::uniform_int_distribution<std::uint64_t> any(0, size - 1);
  for (unsigned i = 0; i < extra && picked.size() < size; ++i)
    picked.insert(any(rng));
  return {picked.begin(), picked.end()};
}

void check_inclusion(client::client& c, std::uint64_t index, const note::checkpoint& cp,
                     const merkle::hash& leaf) {
  const auto p = c.log_inclusion_proof(index, cp.size);
  const std::string where = "inclusion proof of event " + std::to_string(index);
  if (p.index != index || p.size != cp.size) {
    throw error(codes::audit_inclusion_failed,
                where + ": the server answered for another index or size");
  }
  if (hash_from_hex(p.leaf_hash_hex, where + " leaf_hash", codes::audit_inclusion_failed) != leaf) {
    throw error(codes::audit_inclusion_failed,
                where + ": the server's tree holds another leaf hash than the event's");
  }
  std::vector<merkle::hash> proof;
  for (std::size_t i = 0; i < p.proof_hex.size(); ++i) {
    proof.push_back(hash_from_hex(p.proof_hex[i], where + " element " + std::to_string(i),
                                  codes::audit_inclusion_failed));
  }
  if (const char* bad = merkle::inclusion_error(index, cp.size, leaf, proof, cp.root)) {
    throw error(codes::audit_inclusion_failed,
                where + " does not lead to the checkpoint's root [" + bad + "]");
  }
}

void check_consistency(client::client& c, const remembered& old, const note::checkpoint& cp) {
  if (cp.size < old.size) {
    throw error(codes::audit_log_shrunk, "the log has " + std::to_string(cp.size) +
                                             " events but a checkpoint verified earlier had " +
                                             std::to_string(old.size) +
                                             ": the log was truncated or replaced");
  }
  if (old.size == 0) return;  // the empty tree is a prefix of every tree
  std::vector<merkle::hash> proof;
  if (cp.size > old.size) {
    const auto p = c.log_consistency_proof(old.size, cp.size);
    for (std::size_t i = 0; i < p.proof_hex.size(); ++i) {
      proof.push_back(hash_from_hex(p.proof_hex[i],
                                    "consistency proof element " + std::to_string(i),
                                    codes::audit_consistency_failed));
    }
  }
  if (const char* bad = merkle::consistency_error(old.size, cp.size, old.root, cp.root, proof)) {
    throw error(codes::audit_consistency_failed,
                "the log of size " + std::to_string(cp.size) +
                    " does not extend the checkpoint of size " + std::to_string(old.size) +
                    " verified earlier: its past was rewritten [" + bad + "]");
  }
}

int audit_verify(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()  //
      ("key", po::value<std::vector<std::string>>()->value_name("VKEY")->composing(),
       "the log's verifier key <name>+<id>+<base64> (repeatable)")  //
      ("key-file", po::value<std::string>()->value_name("FILE"),
       "file of verifier keys, one per line")  //
      ("origin", po::value<std::string>()->value_name("NAME"),
       "the checkpoint must be for this log origin")  //
      ("state", po::value<std::string>()->value_name("FILE"),
       "remember the verified checkpoint here and check the next one extends it")  //
      ("spot-checks", po::value<unsigned>()->value_name("N")->default_value(8),
       "inclusion proofs to check besides the first and last events")  //
      ("token-file", po::value<std::string>()->value_name("F"),
       "session token file of a supervisor, admin or center_staff user (default "
       "~/.config/tenderhall/token)")  //
      ("json", po::bool_switch(), "machine-readable output");
  int code = 0;
  auto vm = parse_command_args(ctx, args, audit_verify_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  if (vm->count("key") != 0u && vm->count("key-file") != 0u) {
    return usage_error(ctx, "give the key with --key or --key-file, not both");
  }
  const unsigned spot_checks = (*vm)["spot-checks"].as<unsigned>();
  if (spot_checks > 1000) return usage_error(ctx, "--spot-checks takes at most 1000");
  crypto::init();
  // A malformed key on the command line is a usage problem, not a verdict on the log.
  std::vector<note::verifier_key> keys = keys_from_options(*vm);

  try {
    const std::optional<fs::path> state_path =
        vm->count("state") != 0u ? std::optional<fs::path>((*vm)["state"].as<std::string>())
                                 : std::nullopt;
    const auto state = state_path ? load_state(*state_path) : std::nullopt;
    auto c = ctx.make_client();
    if (auto token = saved_token(*vm)) c.set_token(std::move(*token));

    std::string key_source = "given";
    if (keys.empty() && state) {
      keys.push_back(note::parse_verifier_key(state->verifier_key));
      key_source = "remembered in " + state_path->string();
    } else if (keys.empty()) {
      keys.push_back(note::parse_verifier_key(c.log_key()));
      key_source = "the server's own (trust on first use)";
      ctx.err << "tender: warning: no --key given; trusting the key the server presents ("
              << note::format_verifier_key(keys.front()) << "). Pin it with --key or --state.\n";
    }
    std::string origin;
    if (vm->count("origin") != 0u) {
      origin = (*vm)["origin"].as<std::string>();
    } else if (state) {
      origin = state->origin;
    }

    // 1. The checkpoint and its signature.
    const std::string note_text = c.log_checkpoint();
    note::opened_checkpoint opened;
    if (!origin.empty()) {
      opened = note::open_checkpoint(note_text, origin, keys);
    } else {
      opened.note = note::open(note_text, keys);
      opened.cp = note::parse_checkpoint(opened.note.text);
    }
    const note::checkpoint& cp = opened.cp;
    std::string signer;
    for (const auto& k : keys) {
      for (const auto& s : opened.note.verified) {
        if (s.name == k.name && s.id == k.id) signer = note::format_verifier_key(k);
      }
    }

    // 2. Every event, recomputed; the root.
    std::uint64_t withheld = 0;
    const auto leaves = recompute_leaves(c, cp.size, withheld);
    const merkle::hash root = merkle::root_from_leaf_hashes(leaves);
    if (root != cp.root) {
      throw error(codes::audit_root_mismatch,
                  "the " + std::to_string(cp.size) + " events make the root " + hex(root) +
                      " but the signed checkpoint says " + hex(cp.root) +
                      " (events were rewritten together with their leaves)");
    }

    // 3. Inclusion proofs from the server's stored tree.
    std::vector<std::uint64_t> checked;
    if (cp.size > 0) {
      checked = spot_indexes(cp.size, spot_checks);
      for (const auto i : checked)
        check_inclusion(c, i, cp, leaves[static_cast<std::size_t>(i)]);
    }

    // 4. The remembered checkpoint.
    if (state) check_consistency(c, *state, cp);
    if (state_path) {
      save_state(*state_path, remembered{cp.origin, signer, note_text, cp.size, cp.root});
    }

    if (as_json) {
      json::array idx;
      for (const auto i : checked)
        idx.emplace_back(i);
      json::value consistency = nullptr;
      if (state) consistency = json::object{{"from_size", state->size}, {"to_size", cp.size}};
      ctx.out << json::serialize(json::object{{"valid", true},
                                              {"origin", cp.origin},
                                              {"size", cp.size},
                                              {"root", hex(cp.root)},
                                              {"verifier_key", signer},
                                              {"key_source", key_source},
                                              {"events_checked", leaves.size()},
                                              {"events_withheld", withheld},
                                              {"inclusion_checked", std::move(idx)},
                                              {"consistency", std::move(consistency)}})
              << "\n";
    } else {
      ctx.out << "audit log VALID: " << cp.origin << "\n"
              << "checkpoint:  size " << cp.size << ", root " << hex(cp.root) << "\n"
              << "signed by:   " << signer << " (key " << key_source << ")\n"
              << "events:      " << leaves.size()
              << " recomputed from their fields; their root matches the checkpoint\n";
      if (withheld != 0) {
        ctx.out << "withheld:    " << withheld
                << " of them withheld from you until their tender's bidder list is published "
                   "(their leaf hashes are in the root)\n";
      }
      ctx.out << "inclusion:   " << checked.size() << " server proof"
              << (checked.size() == 1 ? "" : "s") << " verified against the checkpoint\n";
      if (state) {
        ctx.out << "consistency: extends the checkpoint of size " << state->size
                << " verified earlier\n";
      } else if (state_path) {
        ctx.out << "consistency: first run, nothing remembered yet\n";
      }
      if (state_path) ctx.out << "state:       " << state_path->string() << " updated\n";
    }
    return exit_ok;
  } catch (const error& e) {
    if (e.code() == codes::io || e.code() == codes::bad_input) throw;
    return report_invalid(ctx, as_json, e.code(), "audit log INVALID: " + std::string(e.what()));
  } catch (const crypto::error& e) {
    std::string message = e.what();
    if (e.code() == note::err_no_known_signature) {
      message += " (was the log's key changed, or is this another log?)";
    }
    return report_invalid(ctx, as_json, e.code(), "audit log INVALID: " + message);
  } catch (const client::error& e) {
    return report_invalid(ctx, as_json, e.code(),
                          std::string("cannot check the audit log: ") + e.what());
  }
}

}  // namespace

void add_audit_commands(std::vector<command>& out) {
  out.push_back({"audit verify",
                 "check the server's audit log: checkpoint signature, every event, proofs",
                 audit_verify});
}

}  // namespace tender::cli
