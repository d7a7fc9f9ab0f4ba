#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/signed_note.hpp>

#include "text_checks.hpp"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

namespace tender::crypto::note {

namespace {

// "— " : U+2014 EM DASH then a space, the start of every signature line.
constexpr std::string_view sig_prefix = "\xE2\x80\x94 ";
constexpr std::string_view signer_key_prefix = "PRIVATE+KEY+";
constexpr std::size_t ed25519_public_key_size = 32;
constexpr std::size_t ed25519_seed_size = 32;
constexpr std::size_t ed25519_signature_size = 64;

static_assert(crypto_sign_PUBLICKEYBYTES == ed25519_public_key_size);
static_assert(crypto_sign_SEEDBYTES == ed25519_seed_size);
static_assert(crypto_sign_BYTES == ed25519_signature_size);

bool is_valid_note_text(std::string_view text) {
  return detail::valid_utf8_without_controls(text, [](char32_t cp) { return cp == U'\n'; });
}

bool is_valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  std::size_t pos = 0;
  while (pos < name.size()) {
    char32_t cp = 0;
    if (!detail::next_code_point(name, pos, cp)) return false;
    if (cp < 0x20 || cp == U'+' || detail::is_unicode_space(cp)) return false;
  }
  return true;
}

std::string hex_id(std::uint32_t id) {
  const std::uint8_t be[4] = {static_cast<std::uint8_t>(id >> 24),
                              static_cast<std::uint8_t>(id >> 16),
                              static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)};
  return to_hex(be);
}

// Exactly eight hex digits, as Go writes them.
std::uint32_t parse_hex_id(std::string_view text) {
  if (text.size() != 8) throw error(err_bad_key, "key id is not 8 hex digits");
  bytes raw;
  try {
    raw = hex_decode(text);
  } catch (const error&) {
    throw error(err_bad_key, "key id is not 8 hex digits");
  }
  return (std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) |
         (std::uint32_t{raw[2]} << 8) | std::uint32_t{raw[3]};
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// Standard padded base64 that re-encodes to the same text: rejects the non-zero padding bits a
// lenient decoder would accept, so every value has exactly one spelling in a signed text.
bytes strict_base64(std::string_view text, const char* code, const char* what) {
  bytes out;
  try {
    out = base64_decode(text);
  } catch (const error&) {
    throw error(code, std::string(what) + " is not valid base64");
  }
  if (base64_encode(out) != text) throw error(code, std::string(what) + " is not canonical base64");
  return out;
}

void check_public_key(byte_view pk) {
  if (pk.size() != ed25519_public_key_size) {
    throw error(err_bad_key, "an Ed25519 public key is 32 bytes");
  }
  // Rejects non-canonical encodings and small-order points, which no honest key generator makes.
  if (crypto_core_ed25519_is_valid_point(pk.data()) != 1) {
    throw error(err_bad_key, "not a valid Ed25519 public key");
  }
}

std::string signature_line(const ed25519_signer& signer, std::string_view text) {
  const bytes sig = signer.sign(as_bytes(text));
  bytes blob(4 + sig.size());
  const std::uint32_t id = signer.id();
  blob[0] = static_cast<std::uint8_t>(id >> 24);
  blob[1] = static_cast<std::uint8_t>(id >> 16);
  blob[2] = static_cast<std::uint8_t>(id >> 8);
  blob[3] = static_cast<std::uint8_t>(id);
  std::copy(sig.begin(), sig.end(), blob.begin() + 4);
  std::string line(sig_prefix);
  line += signer.name();
  line += ' ';
  line += base64_encode(blob);
  line += '\n';
  return line;
}

void check_signable_text(std::string_view text, const note_limits& limits) {
  if (text.size() > limits.max_size) throw error(err_too_large, "note text exceeds the size limit");
  if (text.empty() || text.back() != '\n') {
    throw error(err_malformed, "note text must end with a newline");
  }
  if (!is_valid_note_text(text)) {
    throw error(err_bad_text, "note text is not UTF-8 or contains a control character");
  }
}

}  // namespace

// ---- keys --------------------------------------------------------------------------------------

std::uint32_t key_id(std::string_view name, std::uint8_t type, byte_view public_key) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(name.data()), name.size());
  const std::uint8_t sep[2] = {0x0a, type};
  crypto_hash_sha256_update(&st, sep, sizeof sep);
  crypto_hash_sha256_update(&st, public_key.data(), public_key.size());
  std::uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, digest);
  return read_be32(digest);
}

void check_key_name(std::string_view name) {
  if (!is_valid_key_name(name)) {
    throw error(err_bad_key_name,
                "key names must be non-empty UTF-8 without spaces, '+' or control characters");
  }
}

verifier_key parse_verifier_key(std::string_view vkey) {
  const auto plus1 = vkey.find('+');
  if (plus1 == std::string_view::npos) throw error(err_bad_key, "verifier key has no '+'");
  const auto plus2 = vkey.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) throw error(err_bad_key, "verifier key has one '+'");
  verifier_key key;
  key.name = std::string(vkey.substr(0, plus1));
  check_key_name(key.name);
  key.id = parse_hex_id(vkey.substr(plus1 + 1, plus2 - plus1 - 1));
  const bytes data = strict_base64(vkey.substr(plus2 + 1), err_bad_key, "verifier key data");
  if (data.empty()) throw error(err_bad_key, "verifier key data is empty");
  key.type = data[0];
  if (key.type != sig_type_ed25519) {
    throw error(err_unsupported_key_type, "verifier key type " + std::to_string(key.type) +
                                              " is not supported (only Ed25519)");
  }
  key.public_key.assign(data.begin() + 1, data.end());
  check_public_key(key.public_key);
  if (key_id(key.name, key.type, key.public_key) != key.id) {
    throw error(err_key_id_mismatch, "verifier key id does not match its name and public key");
  }
  return key;
}

std::string format_verifier_key(const verifier_key& key) {
  check_key_name(key.name);
  bytes data;
  data.push_back(key.type);
  data.insert(data.end(), key.public_key.begin(), key.public_key.end());
  return key.name + "+" + hex_id(key.id) + "+" + base64_encode(data);
}

ed25519_signer::ed25519_signer(std::string name, byte_view seed)
    : name_(std::move(name)),
      public_key_(ed25519_public_key_size),
      secret_key_(crypto_sign_SECRETKEYBYTES) {
  check_key_name(name_);
  if (seed.size() != ed25519_seed_size) throw error(err_bad_key, "an Ed25519 seed is 32 bytes");
  crypto_sign_seed_keypair(public_key_.data(), secret_key_.data(), seed.data());
  id_ = key_id(name_, sig_type_ed25519, public_key_);
}

ed25519_signer ed25519_signer::generate(std::string name) {
  secure_bytes seed(ed25519_seed_size);
  randombytes_buf(seed.data(), seed.size());
  return ed25519_signer(std::move(name), seed.view());
}

ed25519_signer ed25519_signer::from_seed(std::string name, byte_view seed) {
  return ed25519_signer(std::move(name), seed);
}

ed25519_signer ed25519_signer::parse(std::string_view signer_key) {
  // Error messages here never quote the input: it is a private key.
  if (signer_key.substr(0, signer_key_prefix.size()) != signer_key_prefix) {
    throw error(err_bad_key, "signer key does not start with PRIVATE+KEY+");
  }
  const std::string_view rest = signer_key.substr(signer_key_prefix.size());
  const auto plus1 = rest.find('+');
  if (plus1 == std::string_view::npos) throw error(err_bad_key, "signer key is truncated");
  const auto plus2 = rest.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) throw error(err_bad_key, "signer key is truncated");
  std::string name(rest.substr(0, plus1));
  check_key_name(name);
  const std::uint32_t id = parse_hex_id(rest.substr(plus1 + 1, plus2 - plus1 - 1));

  const std::string_view b64 = rest.substr(plus2 + 1);
  secure_bytes data(b64.size() / 4 * 3 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(data.data(), data.size(), b64.data(), b64.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    throw error(err_bad_key, "signer key data is not valid base64");
  }
  data.resize(len);
  if (len != 1 + ed25519_seed_size) throw error(err_bad_key, "signer key data has the wrong size");
  if (data.data()[0] != sig_type_ed25519) {
    throw error(err_unsupported_key_type, "signer key type is not supported (only Ed25519)");
  }
  ed25519_signer signer(std::move(name), data.view().subspan(1));
  if (signer.id() != id) {
    throw error(err_key_id_mismatch, "signer key id does not match its name and key");
  }
  return signer;
}

secure_bytes ed25519_signer::format_signer_key() const {
  // Built straight into wiped storage: no std::string ever holds the seed's base64.
  std::uint8_t data[1 + ed25519_seed_size];
  data[0] = sig_type_ed25519;
  std::copy(secret_key_.data(), secret_key_.data() + ed25519_seed_size, data + 1);
  const std::size_t b64_len =
      sodium_base64_encoded_len(sizeof data, sodium_base64_VARIANT_ORIGINAL);
  const std::string head = std::string(signer_key_prefix) + name_ + "+" + hex_id(id_) + "+";
  secure_bytes out(head.size() + b64_len);
  std::copy(head.begin(), head.end(), out.data());
  sodium_bin2base64(reinterpret_cast<char*>(out.data() + head.size()), b64_len, data, sizeof data,
                    sodium_base64_VARIANT_ORIGINAL);
  secure_wipe(data, sizeof data);
  out.resize(out.size() - 1);  // drop the terminating NUL sodium writes
  return out;
}

verifier_key ed25519_signer::verifier() const {
  return verifier_key{name_, id_, sig_type_ed25519, public_key_};
}

bytes ed25519_signer::sign(byte_view message) const {
  bytes sig(ed25519_signature_size);
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return sig;
}

// ---- notes -------------------------------------------------------------------------------------

parsed_note parse(std::string_view note, const note_limits& limits) {
  if (note.size() > limits.max_size) throw error(err_too_large, "note exceeds the size limit");
  if (!is_valid_note_text(note)) {
    throw error(err_bad_text, "note is not UTF-8 or contains a control character");
  }
  if (note.empty() || note.back() != '\n')
    throw error(err_malformed, "note does not end in a newline");
  // The text is separated from the signatures by the last empty line.
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) throw error(err_malformed, "note has no signature block");
  parsed_note out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) throw error(err_malformed, "note has no signatures");
  if (static_cast<std::size_t>(std::count(out.text.begin(), out.text.end(), '\n')) >
      limits.max_lines) {
    throw error(err_too_many_lines, "note text has too many lines");
  }

  std::set<std::pair<std::string, std::uint32_t>> seen;
  while (!sigs.empty()) {
    const auto eol = sigs.find('\n');  // present: the note ends in a newline
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (out.signatures.size() == limits.max_signatures) {
      throw error(err_too_many_signatures, "note has more signatures than the limit");
    }
    if (line.substr(0, sig_prefix.size()) != sig_prefix) {
      throw error(err_malformed, "signature line does not start with an em dash and a space");
    }
    line.remove_prefix(sig_prefix.size());
    const auto space = line.find(' ');
    if (space == std::string_view::npos)
      throw error(err_malformed, "signature line has no signature");
    signature sig;
    sig.name = std::string(line.substr(0, space));
    if (!is_valid_key_name(sig.name))
      throw error(err_malformed, "signature line has a bad key name");
    const bytes blob = strict_base64(line.substr(space + 1), err_malformed, "signature");
    if (blob.size() < 5) throw error(err_malformed, "signature is shorter than a key id");
    sig.id = read_be32(blob.data());
    sig.value.assign(blob.begin() + 4, blob.end());
    if (!seen.emplace(sig.name, sig.id).second) {
      throw error(err_duplicate_signature,
                  "key " + sig.name + "+" + hex_id(sig.id) + " signed twice");
    }
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

opened_note open(std::string_view note, std::span<const verifier_key> known,
                 const note_limits& limits) {
  std::set<std::pair<std::string, std::uint32_t>> known_ids;
  for (const verifier_key& k : known) {
    if (k.type != sig_type_ed25519)
      throw error(err_unsupported_key_type, "only Ed25519 keys are supported");
    if (!known_ids.emplace(k.name, k.id).second) {
      throw error(err_ambiguous_key,
                  "two known keys share the name and id " + k.name + "+" + hex_id(k.id));
    }
  }
  parsed_note parsed = parse(note, limits);
  opened_note out;
  for (signature& sig : parsed.signatures) {
    const auto key = std::find_if(known.begin(), known.end(), [&](const verifier_key& k) {
      return k.name == sig.name && k.id == sig.id;
    });
    if (key == known.end()) {
      out.unverified.push_back(std::move(sig));
      continue;
    }
    const bool ok =
        sig.value.size() == ed25519_signature_size &&
        key->public_key.size() == ed25519_public_key_size &&
        crypto_sign_verify_detached(sig.value.data(),
                                    reinterpret_cast<const unsigned char*>(parsed.text.data()),
                                    parsed.text.size(), key->public_key.data()) == 0;
    if (!ok) {
      throw error(err_bad_signature,
                  "signature by known key " + sig.name + "+" + hex_id(sig.id) + " does not verify");
    }
    out.verified.push_back(std::move(sig));
  }
  if (out.verified.empty())
    throw error(err_no_known_signature, "note has no signature by a known key");
  out.text = std::move(parsed.text);
  return out;
}

std::string sign(std::string_view text, std::span<const ed25519_signer* const> signers,
                 const note_limits& limits) {
  check_signable_text(text, limits);
  if (signers.empty()) throw error(err_malformed, "a note needs at least one signature");
  std::string note(text);
  note += '\n';
  std::set<std::pair<std::string, std::uint32_t>> seen;
  for (const ed25519_signer* s : signers) {
    if (!seen.emplace(s->name(), s->id()).second) {
      throw error(err_duplicate_signature, "the same key is asked to sign twice");
    }
    note += signature_line(*s, text);
  }
  (void)parse(note, limits);  // never hand out a note our own parser would refuse
  return note;
}

std::string add_signatures(std::string_view note, std::span<const ed25519_signer* const> signers,
                           const note_limits& limits) {
  const parsed_note parsed = parse(note, limits);
  std::string out(note);
  std::set<std::pair<std::string, std::uint32_t>> seen;
  for (const signature& sig : parsed.signatures)
    seen.emplace(sig.name, sig.id);
  for (const ed25519_signer* s : signers) {
    if (!seen.emplace(s->name(), s->id()).second) {
      throw error(err_already_signed,
                  "key " + s->name() + "+" + hex_id(s->id()) + " already signed");
    }
    out += signature_line(*s, parsed.text);
  }
  (void)parse(out, limits);
  return out;
}

// ---- checkpoints -------------------------------------------------------------------------------

std::string format_checkpoint(const checkpoint& cp) {
  const auto check_line = [](std::string_view line, const char* what) {
    if (line.empty() || !detail::valid_utf8_no_controls(line)) {
      throw error(err_bad_checkpoint, std::string(what) + " must be a non-empty line of text");
    }
  };
  check_line(cp.origin, "checkpoint origin");
  for (const auto& ext : cp.extensions)
    check_line(ext, "checkpoint extension");
  std::string text =
      cp.origin + "\n" + std::to_string(cp.size) + "\n" + base64_encode(cp.root) + "\n";
  for (const auto& ext : cp.extensions)
    text += ext + "\n";
  return text;
}

checkpoint parse_checkpoint(std::string_view text) {
  if (text.empty() || text.back() != '\n')
    throw error(err_bad_checkpoint, "checkpoint text must end with a newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const auto eol = rest.find('\n');
    lines.push_back(rest.substr(0, eol));
    rest.remove_prefix(eol + 1);
  }
  if (lines.size() < 3)
    throw error(err_bad_checkpoint, "checkpoint needs origin, size and root lines");
  for (std::string_view line : lines) {
    if (line.empty() || !detail::valid_utf8_no_controls(line)) {
      throw error(err_bad_checkpoint, "checkpoint lines must be non-empty text");
    }
  }
  checkpoint cp;
  cp.origin = std::string(lines[0]);

  const std::string_view size = lines[1];
  const bool digits =
      std::all_of(size.begin(), size.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || (size.size() > 1 && size[0] == '0')) {
    throw error(err_bad_checkpoint, "checkpoint size must be decimal without leading zeros");
  }
  const auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), cp.size);
  if (ec != std::errc{} || ptr != size.data() + size.size()) {
    throw error(err_bad_checkpoint, "checkpoint size is out of range");
  }

  const bytes root = strict_base64(lines[2], err_bad_checkpoint, "checkpoint root hash");
  if (root.size() != cp.root.size())
    throw error(err_bad_checkpoint, "checkpoint root hash is not 32 bytes");
  std::copy(root.begin(), root.end(), cp.root.begin());
  for (std::size_t i = 3; i < lines.size(); ++i)
    cp.extensions.emplace_back(lines[i]);
  return cp;
}

std::string sign_checkpoint(const checkpoint& cp, std::span<const ed25519_signer* const> signers) {
  return sign(format_checkpoint(cp), signers);
}

opened_checkpoint open_checkpoint(std::string_view note, std::string_view expected_origin,
                                  std::span<const verifier_key> known, const note_limits& limits) {
  opened_checkpoint out;
  out.note = open(note, known, limits);
  out.cp = parse_checkpoint(out.note.text);
  if (out.cp.origin != expected_origin) {
    throw error(err_wrong_origin, "checkpoint is for another log");
  }
  return out;
}

}  // namespace tender::crypto::note
