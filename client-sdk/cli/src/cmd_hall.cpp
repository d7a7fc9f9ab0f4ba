// tender hall ...: taking part in a remote bid opening (不见面开标) over the hall's WebSocket
// (protocol/docs/hall-protocol.md, docs/HALL.md). One command per step of each role.

#include "cmd_hall_steps.hpp"
#include "command.hpp"
#include "io.hpp"

#include <tender/client/hall.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/init.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <mutex>
#include <thread>

namespace tender::cli {
namespace po = boost::program_options;
namespace json = boost::json;
namespace fs = std::filesystem;
namespace hall = client::hall;

namespace {

// ---- shared options -----------------------------------------------------------------------------

std::optional<std::string> token_of(const po::variables_map& vm, bool required) {
  const auto path = session_token_path(vm);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (!required && vm.count("token-file") == 0u) return std::nullopt;
    throw error(codes::io, "no session token at " + path.string() + "; run tender login first");
  }
  return std::string(trim(read_file(path, 4096)));
}

po::options_description base_options() {
  po::options_description opts("Options");
  opts.add_options()                                                                  //
      ("tender", po::value<std::string>()->value_name("T")->required(), "tender id")  //
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

hall::session_options session_for(const context& ctx, const po::variables_map& vm,
                                  bool token_required) {
  hall::session_options o;
  o.server.server = ctx.server;
  o.server.ca_file = ctx.ca_file;
  o.server.insecure = ctx.insecure;
  o.tender_id = vm["tender"].as<std::string>();
  o.token = token_of(vm, token_required);
  return o;
}

json::object hall_of(const hall::blocking_session& s) {
  const auto snap = s.first_snapshot();
  if (!snap) throw error(codes::bad_input, "the hall sent no snapshot");
  auto v = json::parse(snap->hall_json);
  if (!v.is_object()) throw error(codes::bad_input, "the hall's snapshot is not an object");
  return std::move(v.get_object());
}

// The viewer's own bidder row of `lot` in the snapshot.
json::object own_row(const json::object& hall_state, const std::string& org_id, int lot) {
  if (const auto* b = hall_state.if_contains("bidders"); b != nullptr && b->is_array()) {
    for (const auto& row : b->get_array()) {
      if (!row.is_object()) continue;
      const auto& r = row.get_object();
      const auto* l = r.if_contains("lot");
      const auto* o = r.if_contains("org_id");
      if (l && l->is_int64() && l->get_int64() == lot && o && o->is_string() &&
          o->get_string() == org_id)
        return r;
    }
  }
  throw error(codes::bad_input,
              "the hall shows no bid of " + org_id + " in lot " + std::to_string(lot));
}

std::string string_field(const json::object& o, std::string_view key, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    throw error(codes::bad_input, std::string(what) + " has no '" + std::string(key) + "'");
  }
  return std::string(v->get_string());
}

int print_result(context& ctx, const po::variables_map& vm, const std::string& action,
                 const hall::act_result& r) {
  const bool as_json = ctx.json || vm["json"].as<bool>();
  if (!r.ok) {
    if (as_json) {
      json::object o;
      o["ok"] = false;
      o["code"] = r.code;
      o["message"] = r.message;
      ctx.out << json::serialize(o) << "\n";
    }
    throw client::error(r.code, r.message);
  }
  if (as_json) {
    ctx.out << r.result_json << "\n";
  } else {
    ctx.out << action << ": done";
    if (r.seq) ctx.out << " (event " << *r.seq << ")";
    ctx.out << "\n" << pretty_json(json::parse(r.result_json)) << "\n";
  }
  return exit_ok;
}

crypto::secure_bytes secret_file(const po::variables_map& vm, const char* name) {
  return read_secret_file(vm[name].as<std::string>(), 64 * 1024);
}

std::string as_string(const crypto::secure_bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

hall::signer signer_of(const po::variables_map& vm) {
  const auto pem = secret_file(vm, "key");
  return hall::signer_from_pem(as_string(pem));
}

void save_nonce(const po::variables_map& vm, const hall::nonce_commitment& n) {
  write_file(vm["nonce-out"].as<std::string>(), std::string_view(n.nonce_hex + "\n"),
             write_mode{false, true});
}

std::string read_nonce_hex(const po::variables_map& vm) {
  const auto text = secret_file(vm, "nonce-file");
  std::string hex(trim(as_string(text)));
  if (hex.size() != 64) throw error(codes::bad_input, "the nonce file must hold 64 hex characters");
  return hex;
}

// ---- simple actions: one act with options mapped to parameters ---------------------------------

int run_simple(context& ctx, const std::vector<std::string>& args, const simple_action& a) {
  auto opts = base_options();
  for (const auto& p : a.params) {
    auto* v = po::value<std::string>()->value_name(p.kind == param::text ? "TEXT" : "N");
    if (p.required) v->required();
    opts.add_options()(p.option, v, p.help);
  }
  int code = 0;
  auto vm = parse_command_args(ctx, args, a.usage, opts, {}, code);
  if (!vm) return code;
  json::object params;
  for (const auto& p : a.params) {
    if (vm->count(p.option) == 0u) continue;
    const std::string value = (*vm)[p.option].as<std::string>();
    const char* field = p.field != nullptr ? p.field : p.option;
    if (p.kind == param::text) {
      params[field] = value;
    } else {
      const auto n = parse_u64(value);
      if (!n || *n > static_cast<std::uint64_t>(INT_MAX)) {
        throw error(codes::bad_input,
                    std::string("--") + p.option + " takes a whole number, got '" + value + "'");
      }
      params[field] = static_cast<std::int64_t>(*n);
    }
  }
  hall::blocking_session s(session_for(ctx, *vm, true));
  const auto r = s.act(a.action, json::serialize(params));
  return print_result(ctx, *vm, a.action, r);
}

// ---- watch ----------------------------------------------------------------------------------

constexpr const char* watch_usage =
    R"(tender hall watch — follow an opening hall live

Usage:
  tender [--server URL] hall watch --tender T [--after SEQ] [--count N] [--token-file F] [--json]

Joins the hall's WebSocket (with the saved session token if there is one, otherwise as the
public, who can watch once the bidder list is published), prints the hall's state, then one line
per event as it happens. When the connection drops it resumes after the last event printed, so
nothing is missed or repeated. --json prints each event as the server sent it. Stops after N
events with --count, otherwise runs until interrupted.

Examples:
  tender hall watch --tender t-0123456789abcdef
  tender hall watch --tender t-0123456789abcdef --after 120 --json
)";

std::string describe(const hall::event& e) {
  std::string line = "#" + std::to_string(e.seq) + " " + e.at + " " + e.kind;
  if (e.kind == "redacted") return "#" + std::to_string(e.seq) + " (not visible to you)";
  auto data = json::parse(e.data_json);
  if (!data.is_object()) return line;
  const auto& d = data.get_object();
  auto s = [&](std::string_view k) {
    const auto* v = d.if_contains(k);
    if (v == nullptr || v->is_null()) return std::string();
    if (v->is_string()) return std::string(v->get_string());
    return json::serialize(*v);
  };
  if (e.kind == "decryption_status") {
    line += ": lot " + s("lot") + " " + s("org_id") + " " + s("status");
    if (!s("via").empty()) line += " via " + s("via");
    if (!s("cause").empty())
      line += " cause " + s("cause") + " (" + s("side") + " side, " + s("treatment") + ")";
    return line;
  }
  if (e.kind == "signed_in") {
    // The host before the list learns that someone signed in, not who (hall-protocol.md §2.1).
    if (s("org_id").empty()) return line + ": a bidder signed in (who is secret until the list)";
    return line + ": " + s("name") + " (" + s("org_id") + ")";
  }
  if (e.kind == "window_opened" || e.kind == "window_extended")
    return line + ": closes at " + s("window_closes_at");
  if (e.kind == "paused" || e.kind == "resumed" || e.kind == "suspended" || e.kind == "unsuspended")
    return line + ": " + s("reason");
  if (e.kind == "outage_recorded")
    return line + ": " + s("from") + " .. " + s("to") + " (" + s("seconds") + " s)";
  if (e.kind == "recorded") return line + ": record " + s("record_digest") + " at " + s("url");
  return line + " " + e.data_json;
}

int watch(context& ctx, const std::vector<std::string>& args) {
  auto opts = base_options();
  opts.add_options()("after", po::value<long long>(), "resume after this seq (no snapshot)")(
      "count", po::value<long long>(), "stop after this many events");
  int code = 0;
  auto vm = parse_command_args(ctx, args, watch_usage, opts, {}, code);
  if (!vm) return code;
  const bool as_json = ctx.json || (*vm)["json"].as<bool>();
  long long count = std::numeric_limits<long long>::max();
  if (vm->count("count") != 0u) count = (*vm)["count"].as<long long>();
  if (count < 1) return usage_error(ctx, "--count must be at least 1");
  auto o = session_for(ctx, *vm, false);
  if (vm->count("after") != 0u) o.after = (*vm)["after"].as<long long>();
  std::mutex mu;
  std::condition_variable cv;
  long long seen = 0;
  std::optional<client::error> fatal;
  o.on_welcome = [&](const hall::welcome& w) {
    std::lock_guard lock(mu);
    ctx.err << "joined the hall of " << w.tender_id << " as " << w.viewer.role << " (head "
            << w.head << ")\n";
  };
  o.on_snapshot = [&](const hall::snapshot& s) {
    std::lock_guard lock(mu);
    if (as_json) {
      ctx.out << R"({"type":"snapshot","seq":)" << s.seq << R"(,"hall":)" << s.hall_json << "}\n";
    } else {
      auto v = json::parse(s.hall_json);
      const auto& h = v.as_object();
      ctx.out << "phase: " << json::serialize(h.at("phase")) << " (as of event " << s.seq << ")\n";
    }
    ctx.out.flush();
  };
  o.on_event = [&](const hall::event& e) {
    {
      std::lock_guard lock(mu);
      if (seen >= count) return;
      ctx.out << (as_json ? e.json : describe(e)) << "\n";
      ctx.out.flush();
      ++seen;
    }
    cv.notify_all();
  };
  o.on_disconnect = [&](const client::error& e) {
    std::lock_guard lock(mu);
    ctx.err << "tender: hall connection lost (" << e.what() << " [" << e.code() << "]); resuming\n";
  };
  o.on_fatal = [&](const client::error& e) {
    {
      std::lock_guard lock(mu);
      fatal = e;
    }
    cv.notify_all();
  };
  boost::asio::io_context ioc;
  hall::session s(ioc, std::move(o));
  s.start();
  std::thread t([&ioc] { ioc.run(); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return fatal.has_value() || seen >= count; });
  }
  s.close();
  ioc.stop();
  t.join();
  if (fatal) throw *fatal;
  return exit_ok;
}

// ---- signed bidder steps -------------------------------------------------------------------

constexpr const char* sign_in_usage =
    R"(tender hall sign-in — a bidder signs in to the opening hall (签到)

Usage:
  tender [--server URL] hall sign-in --tender T --key KEY.pem --nonce-out NONCE [--token-file F]

Signs in with the user's registered login key (the signature covers the tender, a fresh
single-use challenge and the commitment). A random 32-byte draw nonce is generated; its SHA-256
commitment goes with the sign-in and the nonce itself is written to NONCE (owner-only). Keep it:
if your organisation is drawn as the bidders' representative you reveal it with
`tender hall reveal`. Open from before the deadline until the list is published. `join` is the
same command.

Example:
  tender hall sign-in --tender t-0123456789abcdef --key login-key.pem --nonce-out draw-nonce.txt
)";

int sign_in(context& ctx, const std::vector<std::string>& args) {
  auto opts = base_options();
  opts.add_options()("key", po::value<std::string>()->value_name("KEY.pem")->required(),
                     "the user's login private key (PKCS#8 PEM)")(
      "nonce-out", po::value<std::string>()->value_name("FILE")->required(),
      "where to keep the draw nonce (secret)");
  int code = 0;
  auto vm = parse_command_args(ctx, args, sign_in_usage, opts, {}, code);
  if (!vm) return code;
  crypto::init();
  const auto who = signer_of(*vm);
  const auto n = hall::make_nonce();
  save_nonce(*vm, n);
  hall::blocking_session s(session_for(ctx, *vm, true));
  const auto r = s.signed_act("sign_in", hall::sign_in_params(n.commitment), n.commitment, who);
  return print_result(ctx, *vm, "sign_in", r);
}

constexpr const char* decrypt_usage =
    R"(tender hall decrypt — a bidder decrypts its bid in the opening hall (解密)

Usage:
  tender [--server URL] hall decrypt --tender T --lot N --key KEY.pem --enc-key ENC.pem
                                     [--sealed FILE | --backup FILE] [--passphrase-file F]

While the decryption window is open, unwraps the bid's file key locally with the bidder's
encryption key (ENC.pem, X25519 or SM2, never sent anywhere), signs it with the login key and
submits it. The server checks the key against the sealed header, opens the summary and verifies
the whole file; `tender hall watch` shows the result (decryption_status: done, or failed with a
cause). A failed attempt may be retried while the window is open (at most 10 attempts).

The sealed header comes from --sealed FILE (your copy of the sealed bid) or, without it, from the
hall itself. With --backup FILE the backup copy (made by `tender seal --backup`) is uploaded
first, checked by the server against the sealed bid (same bidder, signer and commitment), and
decrypted instead: the remedy when the primary file is damaged. Under bidder-and-escrow the key
sent is the bidder's part; the custodians' shares complete it.

Examples:
  tender hall decrypt --tender t-0123456789abcdef --lot 1 --key login-key.pem --enc-key enc.pem
  tender hall decrypt --tender t-0123456789abcdef --lot 1 --key login-key.pem --enc-key enc.pem \
      --sealed bid-lot1.sealed
  tender hall decrypt --tender t-0123456789abcdef --lot 1 --key login-key.pem --enc-key enc.pem \
      --backup bid-lot1.backup.sealed
)";

int decrypt(context& ctx, const std::vector<std::string>& args) {
  auto opts = base_options();
  opts.add_options()                                                                //
      ("lot", po::value<std::string>()->value_name("N")->required(), "lot number")  //
      ("key", po::value<std::string>()->value_name("KEY.pem")->required(),
       "the user's login private key (signs the attempt)")  //
      ("enc-key", po::value<std::string>()->value_name("ENC.pem")->required(),
       "the bidder's encryption private key (unwraps the file key)")                   //
      ("sealed", po::value<std::string>()->value_name("FILE"), "the sealed bid file")  //
      ("backup", po::value<std::string>()->value_name("FILE"),
       "upload and decrypt this backup file instead")  //
      ("passphrase-file", po::value<std::string>()->value_name("F"),
       "passphrase of an encrypted ENC.pem");
  int code = 0;
  auto vm = parse_command_args(ctx, args, decrypt_usage, opts, {}, code);
  if (!vm) return code;
  if (vm->count("sealed") != 0u && vm->count("backup") != 0u) {
    return usage_error(ctx, "--sealed and --backup are alternatives; give one");
  }
  crypto::init();
  const int lot = lot_of(*vm);
  const auto who = signer_of(*vm);
  const auto enc = secret_file(*vm, "enc-key");
  std::optional<std::string> pass;
  if (vm->count("passphrase-file") != 0u) {
    pass = std::string(trim(as_string(secret_file(*vm, "passphrase-file"))));
  }
  std::optional<std::string_view> pass_view;
  if (pass) pass_view = *pass;
  auto o = session_for(ctx, *vm, true);
  std::string file = "primary";
  hall::file_key key;
  if (vm->count("backup") != 0u) {
    const fs::path backup = (*vm)["backup"].as<std::string>();
    key = hall::unwrap_key_from_file(backup, as_string(enc), pass_view);
    auto c = ctx.make_client();
    c.set_token(*o.token);
    const auto receipt = hall::upload_backup(c, o.tender_id, lot, backup);
    ctx.err << "backup uploaded: " << receipt.size << " bytes, commitment " << receipt.commitment
            << "\n";
    file = "backup";
  } else if (vm->count("sealed") != 0u) {
    key = hall::unwrap_key_from_file((*vm)["sealed"].as<std::string>(), as_string(enc), pass_view);
  }
  hall::blocking_session s(std::move(o));
  if (vm->count("backup") == 0u && vm->count("sealed") == 0u) {
    const auto row = own_row(hall_of(s), s.last_welcome().viewer.org_id, lot);
    const auto header = crypto::base64_decode(string_field(row, "header", "your bid's row"));
    key = hall::unwrap_key_from_header(
        std::string_view(reinterpret_cast<const char*>(header.data()), header.size()),
        as_string(enc), pass_view);
  }
  const auto r = s.signed_act("decrypt", hall::decrypt_params(lot, file, key.key),
                              hall::decrypt_payload(lot, file, key.key), who);
  return print_result(ctx, *vm, "decrypt", r);
}

constexpr const char* backup_usage =
    R"(tender hall backup — upload a backup copy of a sealed bid to the hall

Usage:
  tender [--server URL] hall backup --tender T --lot N --file BACKUP [--token-file F]

While the window is open, uploads the backup file; the server accepts it only if it is the same
bid as the sealed one (same bidder, signer and commitment: hall.backup_mismatch otherwise). Then
decrypt it with `tender hall decrypt --backup` (which also uploads it, so this step is optional).

Example:
  tender hall backup --tender t-0123456789abcdef --lot 1 --file bid-lot1.backup.sealed
)";

int backup(context& ctx, const std::vector<std::string>& args) {
  auto opts = base_options();
  opts.add_options()("lot", po::value<std::string>()->value_name("N")->required(), "lot number")(
      "file", po::value<std::string>()->value_name("BACKUP")->required(), "the backup file");
  int code = 0;
  auto vm = parse_command_args(ctx, args, backup_usage, opts, {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(*token_of(*vm, true));
  const auto r = hall::upload_backup(c, (*vm)["tender"].as<std::string>(), lot_of(*vm),
                                     (*vm)["file"].as<std::string>());
  json::object o;
  o["lot"] = r.lot;
  o["org_id"] = r.org_id;
  o["size"] = r.size;
  o["commitment"] = r.commitment;
  ctx.out << ((ctx.json || (*vm)["json"].as<bool>()) ? json::serialize(o) : pretty_json(o)) << "\n";
  return exit_ok;
}

constexpr const char* confirm_usage =
    R"(tender hall confirm — a bidder confirms the announced results (确认)

Usage:
  tender [--server URL] hall confirm --tender T --key KEY.pem [--digest HEX] [--token-file F]

After the announcement, signs the record digest (hex SHA-256 of the announcement) with the login
key. Without --digest the digest shown by the hall is used; check it against what you saw. A
bidder that does not confirm before the confirmation window closes is recorded as silent.

Example:
  tender hall confirm --tender t-0123456789abcdef --key login-key.pem
)";

int confirm(context& ctx, const std::vector<std::string>& args) {
  auto opts = base_options();
  opts.add_options()("key", po::value<std::string>()->value_name("KEY.pem")->required(),
                     "the user's login private key")(
      "digest", po::value<std::string>()->value_name("HEX"), "the record digest to confirm");
  int code = 0;
  auto vm = parse_command_args(ctx, args, confirm_usage, opts, {}, code);
  if (!vm) return code;
  crypto::init();
  const auto who = signer_of(*vm);
  hall::blocking_session s(session_for(ctx, *vm, true));
  std::string digest;
  if (vm->count("digest") != 0u) {
    digest = (*vm)["digest"].as<std::string>();
  } else {
    digest = string_field(hall_of(s), "record_digest", "the hall (not announced yet?)");
  }
  const auto r = s.signed_act("confirm", hall::confirm_params(digest), digest, who);
  return print_result(ctx, *vm, "confirm", r);
}

// ---- nonces: commit (host), reveal-host, reveal (representative) ----------------------------

constexpr const char* commit_usage =
    R"(tender hall commit — host: commit to the draw nonce before the deadline

Usage:
  tender [--server URL] hall commit --tender T --nonce-out NONCE [--token-file F]

Generates a random 32-byte nonce, writes it to NONCE (owner-only) and publishes only its SHA-256
commitment. After decryption `tender hall reveal-host` publishes the nonce; together with the
audit checkpoint and the representative's nonce it seeds the draws, so no single party can steer
them.

Example:
  tender hall commit --tender t-0123456789abcdef --nonce-out host-nonce.txt
)";

int commit(context& ctx, const std::vector<std::string>& args) {
  auto opts = base_options();
  opts.add_options()("nonce-out", po::value<std::string>()->value_name("FILE")->required(),
                     "where to keep the nonce (secret)");
  int code = 0;
  auto vm = parse_command_args(ctx, args, commit_usage, opts, {}, code);
  if (!vm) return code;
  crypto::init();
  const auto n = hall::make_nonce();
  save_nonce(*vm, n);
  hall::blocking_session s(session_for(ctx, *vm, true));
  json::object p;
  p["commitment"] = n.commitment;
  return print_result(ctx, *vm, "commit_host", s.act("commit_host", json::serialize(p)));
}

constexpr const char* reveal_host_usage =
    R"(tender hall reveal-host — host: reveal the draw nonce (draws the representative)

Usage:
  tender [--server URL] hall reveal-host --tender T --nonce-file NONCE [--token-file F]

After decryption (phase decrypted) publishes the nonce committed with `tender hall commit`; the
server checks it against the commitment and draws the bidders' representative among the
signed-in bidders.

Example:
  tender hall reveal-host --tender t-0123456789abcdef --nonce-file host-nonce.txt
)";

constexpr const char* reveal_usage =
    R"(tender hall reveal — the bidders' representative reveals its draw nonce

Usage:
  tender [--server URL] hall reveal --tender T --nonce-file NONCE [--token-file F]

When your organisation is drawn as the representative (event representative_drawn), publish the
nonce saved by `tender hall sign-in --nonce-out`; it is checked against your sign-in commitment
and joins the seed of the parameter draw.

Example:
  tender hall reveal --tender t-0123456789abcdef --nonce-file draw-nonce.txt
)";

int reveal_common(context& ctx, const std::vector<std::string>& args, const char* usage,
                  const char* action) {
  auto opts = base_options();
  opts.add_options()("nonce-file", po::value<std::string>()->value_name("FILE")->required(),
                     "the saved nonce");
  int code = 0;
  auto vm = parse_command_args(ctx, args, usage, opts, {}, code);
  if (!vm) return code;
  json::object p;
  p["nonce"] = read_nonce_hex(*vm);
  hall::blocking_session s(session_for(ctx, *vm, true));
  return print_result(ctx, *vm, action, s.act(action, json::serialize(p)));
}

// ---- custodian share -----------------------------------------------------------------------

constexpr const char* share_usage =
    R"(tender hall share — custodian: submit a decryption share for one bid (escrow)

Usage:
  tender [--server URL] hall share --tender T --lot N --org ORG --setup escrow-public.json
                                   --share-file share-I.json [--token-file F]

Under the bidder-or-escrow policy k custodians can open a bid whose bidder could not (remedy);
under bidder-and-escrow their shares and the bidder's part are both needed. Computes this
custodian's decryption share for the bid's escrow point R (taken from the hall's list), with a
proof bound to "<tender>/lot/<N>/<ORG>", and submits it. The custodian's share file never leaves
this machine.

Example:
  tender hall share --tender t-0123456789abcdef --lot 1 --org o-acme \
      --setup escrow-public.json --share-file share-2.json
)";

int share(context& ctx, const std::vector<std::string>& args) {
  auto opts = base_options();
  opts.add_options()                                                                //
      ("lot", po::value<std::string>()->value_name("N")->required(), "lot number")  //
      ("org", po::value<std::string>()->value_name("ORG")->required(),
       "the bidder organisation")  //
      ("setup", po::value<std::string>()->value_name("FILE")->required(),
       "the escrow's public setup JSON")  //
      ("share-file", po::value<std::string>()->value_name("FILE")->required(),
       "this custodian's share JSON (secret)");
  int code = 0;
  auto vm = parse_command_args(ctx, args, share_usage, opts, {}, code);
  if (!vm) return code;
  crypto::init();
  const int lot = lot_of(*vm);
  const std::string org = (*vm)["org"].as<std::string>();
  const std::string setup = read_file((*vm)["setup"].as<std::string>(), 1 << 20);
  const auto secret = secret_file(*vm, "share-file");
  hall::blocking_session s(session_for(ctx, *vm, true));
  const auto row = own_row(hall_of(s), org, lot);
  const std::string r = string_field(row, "escrow_r", "the bid's row");
  const auto d = hall::make_share(setup, as_string(secret), r, s.tender_id(), lot, org);
  return print_result(ctx, *vm, "share", s.act("share", hall::share_params(lot, org, d)));
}

int sign_in_cmd(context& ctx, const std::vector<std::string>& args) {
  return sign_in(ctx, args);
}

}  // namespace

void add_hall_commands(std::vector<command>& out) {
  out.push_back({"hall watch", "follow an opening hall live (resumes after a drop)", watch});
  out.push_back({"hall sign-in", "bidder: sign in to the opening hall (签到)", sign_in_cmd});
  out.push_back({"hall join", "bidder: same as hall sign-in", sign_in_cmd});
  out.push_back(
      {"hall decrypt", "bidder: decrypt a bid in the window (primary or backup)", decrypt});
  out.push_back({"hall backup", "bidder: upload a backup copy of a sealed bid", backup});
  out.push_back({"hall confirm", "bidder: sign the announced results (确认)", confirm});
  out.push_back(
      {"hall reveal", "representative: reveal the draw nonce", [](context& c, const auto& a) {
         return reveal_common(c, a, reveal_usage, "reveal_representative");
       }});
  out.push_back({"hall commit", "host: commit to a draw nonce before the deadline", commit});
  out.push_back({"hall reveal-host", "host: reveal the draw nonce", [](context& c, const auto& a) {
                   return reveal_common(c, a, reveal_host_usage, "reveal_host");
                 }});
  out.push_back({"hall share", "custodian: submit an escrow decryption share", share});
  for (const auto& a : simple_actions()) {
    out.push_back({a.command, a.summary, [&a](context& c, const std::vector<std::string>& args) {
                     return run_simple(c, args, a);
                   }});
  }
  // `tender hall` alone: the list of hall commands.
  std::string overview =
      "tender hall — take part in a remote bid opening (不见面开标大厅)\n\n"
      "Every party joins the tender's hall with its session token (tender login); the public may\n"
      "watch once the bidder list is published. See docs/HALL.md for the ten steps.\n\n"
      "Commands:\n";
  for (const auto& c : out) {
    if (c.name.rfind("hall ", 0) == 0) {
      overview += "  tender " + c.name +
                  std::string(c.name.size() < 24 ? 24 - c.name.size() : 1, ' ') + c.summary + "\n";
    }
  }
  overview += "\nEach command has its own --help.\n";
  out.push_back({"hall",
                 "the opening hall: watch, sign in, decrypt, confirm, host steps (see tender hall)",
                 [overview](context& c, const std::vector<std::string>& args) {
                   c.out << overview;
                   const bool asked = !args.empty() && (args[0] == "--help" || args[0] == "-h");
                   if (!args.empty() && !asked) {
                     c.err << "tender: unknown hall command '" << args[0] << "'\n";
                     return exit_usage;
                   }
                   return asked ? exit_ok : exit_usage;
                 }});
}

}  // namespace tender::cli
