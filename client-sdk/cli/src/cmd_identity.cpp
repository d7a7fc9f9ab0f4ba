// tender login | whoami | logout and tender admin org create | user create | key add | add-cert.

#include "command.hpp"
#include "io.hpp"

#include <tender/crypto/keys.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr const char* login_usage =
    R"(tender login — log in to the server with your signing key

Usage:
  tender [--server URL] login --user ID --key KEY.pem [--passphrase-file FILE] [--token-file F]

Asks the server for a challenge, signs it with KEY.pem (Ed25519 or SM2, PKCS#8 PEM; encrypted
keys need --passphrase-file) and writes the session token to F (default
~/.config/tenderhall/token, created with mode 0600). The other commands read it from there.

Examples:
  tender --server https://hall.example.org login --user alice --key alice-sign.pem
)";

constexpr const char* whoami_usage =
    R"(tender whoami — show who the saved session token belongs to

Usage:
  tender [--server URL] whoami [--token-file F] [--json]
)";

constexpr const char* logout_usage =
    R"(tender logout — revoke the saved session token and delete its file

Usage:
  tender [--server URL] logout [--token-file F]
)";

constexpr const char* org_usage =
    R"(tender admin org create — create an organisation (admin only)

Usage:
  tender admin org create --id ID --kind KIND --name NAME [--token-file F] [--json]

KIND is bidder, tenderer, agency, center, supervision, issuer, platform or notary.
)";

constexpr const char* user_usage =
    R"(tender admin user create — create a user in an organisation (admin only)

Usage:
  tender admin user create --org ORG --id ID --name NAME --role ROLE [--role ROLE...]
                           [--token-file F] [--json]

ROLE is bidder, tenderer, center_staff, supervisor, expert, issuer or admin.
)";

constexpr const char* key_usage =
    R"(tender admin key add — register a user's login public key (admin only)

Usage:
  tender admin key add --user ID --public-key PUB.pem [--token-file F] [--json]

PUB.pem is a SubjectPublicKeyInfo PEM, Ed25519 or SM2 (as written by tender keygen or
`openssl pkey -pubout`).
)";

constexpr const char* revoke_usage =
    R"(tender admin revoke — end a user's sessions, or revoke one of its login keys (admin only)

Usage:
  tender admin revoke USER [--key FINGERPRINT] [--token-file F] [--json]

Without --key every live session of USER ends at once (its bearer tokens stop working). With
--key the key (its SHA-256 fingerprint, as `tender admin key add` printed it) can no longer log
in, and USER's live sessions end too. Use it for a lost USB key or a person who left.

Example:
  tender admin revoke alice --key 3f1c...e9
)";

constexpr const char* cert_usage =
    R"(tender admin add-cert — register a user's X.509 certificate as a login key (admin only)

Usage:
  tender admin add-cert USER --cert CERT.pem [--chain CHAIN.pem] [--token-file F] [--json]

CERT.pem holds the user's certificate (an Ed25519 or SM2 key); CHAIN.pem, if given, the
intermediate CA certificates (PEM, any number). The server verifies the chain against its
configured CA roots (identity.ca_roots_file) and refuses an expired, untrusted or otherwise
invalid certificate with the reason (identity.bad_certificate). The user then logs in with the
certificate's private key.

Examples:
  tender admin add-cert alice --cert alice.crt.pem --chain issuing-ca.pem
)";

fs::path default_token_file() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    throw error(codes::io, "HOME is not set; pass --token-file");
  }
  return fs::path(home) / ".config" / "tenderhall" / "token";
}

fs::path token_path(const po::variables_map& vm) {
  if (vm.count("token-file") != 0u) return vm["token-file"].as<std::string>();
  return default_token_file();
}

void add_token_option(po::options_description& opts) {
  opts.add_options()("token-file", po::value<std::string>(),
                     "session token file (default ~/.config/tenderhall/token)");
}

// The saved session token.
std::string saved_token(const po::variables_map& vm) {
  const auto path = token_path(vm);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw error(codes::io, "no session token at " + path.string() + "; run tender login first");
  }
  return std::string(trim(read_file(path, 4096)));
}

std::string_view text_of(const crypto::secure_bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

int login(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("user", po::value<std::string>()->required(), "your user id")(
      "key", po::value<std::string>()->required(), "your private signing key (PEM)")(
      "passphrase-file", po::value<std::string>(), "passphrase of an encrypted key (first line)")(
      "json", po::bool_switch(), "machine-readable output");
  add_token_option(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, login_usage, opts, {}, code);
  if (!vm) return code;
  const fs::path key_path = (*vm)["key"].as<std::string>();
  const crypto::secure_bytes pem = read_secret_file(key_path, max_small_file);
  std::optional<crypto::secure_bytes> passphrase;
  if (vm->count("passphrase-file") != 0u) {
    const auto raw = read_secret_file((*vm)["passphrase-file"].as<std::string>(), 4096);
    std::size_t n = 0;
    while (n < raw.size() && raw.data()[n] != '\n' && raw.data()[n] != '\r')
      ++n;
    passphrase = crypto::secure_bytes(raw.view().first(n));
  }
  const auto key = about_file(key_path, [&] {
    if (passphrase) return crypto::private_key::from_pem(text_of(pem), text_of(*passphrase));
    return crypto::private_key::from_pem(text_of(pem));
  });
  const std::string fingerprint = key.public_part().fingerprint();
  auto c = ctx.make_client();
  const auto s =
      c.login((*vm)["user"].as<std::string>(), fingerprint, [&key](std::string_view message) {
        const auto sig = crypto::sign_message(key, crypto::as_bytes(message));
        return std::string(sig.begin(), sig.end());
      });
  const auto path = token_path(*vm);
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  write_file(path, s.token + "\n", {true, true});
  if (ctx.json || (*vm)["json"].as<bool>()) {
    boost::json::array roles;
    for (const auto& r : s.roles)
      roles.emplace_back(r);
    ctx.out << boost::json::serialize(boost::json::object{{"user_id", s.user_id},
                                                          {"roles", std::move(roles)},
                                                          {"expires_at", s.expires_at},
                                                          {"token_file", path.string()}})
            << "\n";
  } else {
    ctx.out << "logged in as " << s.user_id << " until " << s.expires_at << "; token in "
            << path.string() << "\n";
  }
  return exit_ok;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : ",") + s;
  return out;
}

boost::json::array json_list(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v)
    a.emplace_back(s);
  return a;
}

int whoami(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("json", po::bool_switch(), "machine-readable output");
  add_token_option(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, whoami_usage, opts, {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto w = c.whoami();
  if (ctx.json || (*vm)["json"].as<bool>()) {
    ctx.out << boost::json::serialize(boost::json::object{
                   {"user_id", w.user.id},
                   {"name", w.user.name},
                   {"roles", json_list(w.user.roles)},
                   {"org", {{"id", w.org.id}, {"kind", w.org.kind}, {"name", w.org.name}}}})
            << "\n";
  } else {
    ctx.out << "user:  " << w.user.id << " (" << w.user.name << ")\n"
            << "roles: " << joined(w.user.roles) << "\n"
            << "org:   " << w.org.id << " (" << w.org.kind << ", " << w.org.name << ")\n";
  }
  return exit_ok;
}

int logout(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  add_token_option(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, logout_usage, opts, {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  c.logout();
  fs::remove(token_path(*vm));
  ctx.out << "logged out\n";
  return exit_ok;
}

int org_create(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("id", po::value<std::string>()->required(), "organisation id")(
      "kind", po::value<std::string>()->required(), "organisation kind")(
      "name", po::value<std::string>()->required(), "display name")("json", po::bool_switch(),
                                                                    "machine-readable output");
  add_token_option(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, org_usage, opts, {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto o = c.create_org((*vm)["id"].as<std::string>(), (*vm)["kind"].as<std::string>(),
                              (*vm)["name"].as<std::string>());
  if (ctx.json || (*vm)["json"].as<bool>()) {
    ctx.out << boost::json::serialize(boost::json::object{
                   {"id", o.id}, {"kind", o.kind}, {"name", o.name}, {"created_at", o.created_at}})
            << "\n";
  } else {
    ctx.out << "created organisation " << o.id << " (" << o.kind << ", " << o.name << ")\n";
  }
  return exit_ok;
}

int user_create(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("org", po::value<std::string>()->required(), "organisation id")(
      "id", po::value<std::string>()->required(), "user id")(
      "name", po::value<std::string>()->required(), "display name")(
      "role", po::value<std::vector<std::string>>()->required(), "a role (repeatable)")(
      "json", po::bool_switch(), "machine-readable output");
  add_token_option(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, user_usage, opts, {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto u =
      c.create_user((*vm)["org"].as<std::string>(), (*vm)["id"].as<std::string>(),
                    (*vm)["name"].as<std::string>(), (*vm)["role"].as<std::vector<std::string>>());
  if (ctx.json || (*vm)["json"].as<bool>()) {
    ctx.out << boost::json::serialize(boost::json::object{{"id", u.id},
                                                          {"org_id", u.org_id},
                                                          {"name", u.name},
                                                          {"roles", json_list(u.roles)}})
            << "\n";
  } else {
    ctx.out << "created user " << u.id << " in " << u.org_id << " with roles " << joined(u.roles)
            << "\n";
  }
  return exit_ok;
}

int key_add(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("user", po::value<std::string>()->required(), "user id")(
      "public-key", po::value<std::string>()->required(), "public key PEM file")(
      "json", po::bool_switch(), "machine-readable output");
  add_token_option(opts);
  int code = 0;
  auto vm = parse_command_args(ctx, args, key_usage, opts, {}, code);
  if (!vm) return code;
  const std::string pem = read_file((*vm)["public-key"].as<std::string>(), max_small_file);
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto k = c.add_key((*vm)["user"].as<std::string>(), pem);
  if (ctx.json || (*vm)["json"].as<bool>()) {
    ctx.out << boost::json::serialize(boost::json::object{{"fingerprint", k.fingerprint},
                                                          {"user_id", k.user_id},
                                                          {"algorithm", k.algorithm}})
            << "\n";
  } else {
    ctx.out << "added " << k.algorithm << " key " << k.fingerprint << " for " << k.user_id << "\n";
  }
  return exit_ok;
}

int revoke(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("user", po::value<std::string>()->required(), "user id")(
      "key", po::value<std::string>(), "fingerprint of the key to revoke")(
      "json", po::bool_switch(), "machine-readable output");
  add_token_option(opts);
  po::positional_options_description positional;
  positional.add("user", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, revoke_usage, opts, positional, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto user = (*vm)["user"].as<std::string>();
  const bool key = vm->count("key") != 0u;
  const auto ended =
      key ? c.revoke_key(user, (*vm)["key"].as<std::string>()) : c.revoke_sessions(user);
  if (ctx.json || (*vm)["json"].as<bool>()) {
    boost::json::object o{{"user_id", user}, {"sessions_revoked", ended}};
    if (key) o["key_revoked"] = (*vm)["key"].as<std::string>();
    ctx.out << boost::json::serialize(o) << "\n";
  } else {
    if (key) ctx.out << "revoked key " << (*vm)["key"].as<std::string>() << " of " << user << "\n";
    ctx.out << "ended " << ended << " live session(s) of " << user << "\n";
  }
  return exit_ok;
}

int cert_add(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("user", po::value<std::string>()->required(), "user id")(
      "cert", po::value<std::string>()->required(), "certificate PEM file")(
      "chain", po::value<std::string>(), "intermediate certificates PEM file")(
      "json", po::bool_switch(), "machine-readable output");
  add_token_option(opts);
  po::positional_options_description positional;
  positional.add("user", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, cert_usage, opts, positional, code);
  if (!vm) return code;
  const std::string pem = read_file((*vm)["cert"].as<std::string>(), max_small_file);
  std::vector<std::string> chain;
  if (vm->count("chain") != 0u) {
    chain.push_back(read_file((*vm)["chain"].as<std::string>(), max_small_file));
  }
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto r = c.add_certificate((*vm)["user"].as<std::string>(), pem, chain);
  if (ctx.json || (*vm)["json"].as<bool>()) {
    ctx.out << boost::json::serialize(
                   boost::json::object{{"fingerprint", r.key.fingerprint},
                                       {"user_id", r.key.user_id},
                                       {"algorithm", r.key.algorithm},
                                       {"certificate_fingerprint", r.fingerprint},
                                       {"subject", r.subject},
                                       {"issuer", r.issuer},
                                       {"not_after", r.not_after}})
            << "\n";
  } else {
    ctx.out << "added " << r.key.algorithm << " key " << r.key.fingerprint << " for "
            << r.key.user_id << " from certificate " << r.subject << " (issuer " << r.issuer
            << ", valid until " << r.not_after << ")\n";
  }
  return exit_ok;
}

}  // namespace

void add_identity_commands(std::vector<command>& out) {
  out.push_back({"login", "log in with your signing key and save the session token", login});
  out.push_back({"whoami", "show the user, organisation and roles of the saved token", whoami});
  out.push_back({"logout", "revoke the saved session token", logout});
  out.push_back({"admin org create", "create an organisation (admin)", org_create});
  out.push_back({"admin user create", "create a user in an organisation (admin)", user_create});
  out.push_back({"admin key add", "register a user's login public key (admin)", key_add});
  out.push_back(
      {"admin revoke", "end a user's sessions or revoke one of its keys (admin)", revoke});
  out.push_back(
      {"admin add-cert", "register a user's X.509 certificate as a login key (admin)", cert_add});
}

}  // namespace tender::cli
