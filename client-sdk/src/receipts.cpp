// Offline verification of bid receipts and deadline seals (protocol/docs/bid-receipt.md).

#include <tender/client/receipts.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/crypto/suite.hpp>
#include <tender/protocol/audit.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <span>

namespace tender::client::receipts {
namespace json = boost::json;
namespace note = crypto::note;
namespace merkle = crypto::merkle;

namespace {

constexpr std::string_view receipt_type = "tenderhall.bid_receipt";
constexpr std::string_view receipt_origin = "tenderhall/bid-receipt/v1";
constexpr std::string_view seal_origin = "tenderhall/bid-seal/v1";
constexpr std::string_view submitted_action = "bid.submitted";
constexpr std::size_t max_document = std::size_t{1} << 20;

[[noreturn]] void fail(const char* code, const std::string& message) {
  throw error(code, message);
}

std::string key_id_hex(std::uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(id));
  return buf;
}

std::string signer_of(const note::opened_note& n) {
  const auto& s = n.verified.front();
  return s.name + "+" + key_id_hex(s.id);
}

std::vector<note::verifier_key> parse_keys(const std::vector<std::string>& keys) {
  if (keys.empty()) throw crypto::error(note::err_bad_key, "no verifier key given");
  std::vector<note::verifier_key> out;
  out.reserve(keys.size());
  for (const auto& k : keys)
    out.push_back(note::parse_verifier_key(k));
  return out;
}

bool is_lower_hex(std::string_view s, std::size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Strict decimal: digits only, no leading zero (except "0"), at most 2^64 - 1.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// ---- JSON access ------------------------------------------------------------------------------

json::object parse_object(std::string_view text, const char* code, std::string_view what) {
  if (text.size() > max_document) fail(code, std::string(what) + " is larger than 1 MiB");
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) fail(code, std::string(what) + " is not a JSON object");
  return std::move(v.get_object());
}

const json::value& member(const json::object& o, std::string_view key, const char* code,
                          std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) fail(code, std::string(what) + " has no \"" + std::string(key) + "\"");
  return *v;
}

std::string string_member(const json::object& o, std::string_view key, const char* code,
                          std::string_view what) {
  const auto& v = member(o, key, code, what);
  if (!v.is_string())
    fail(code, std::string(what) + ": \"" + std::string(key) + "\" is not a string");
  return std::string(v.get_string());
}

std::optional<std::uint64_t> as_u64(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  return std::nullopt;
}

std::uint64_t u64_member(const json::object& o, std::string_view key, const char* code,
                         std::string_view what) {
  const auto n = as_u64(member(o, key, code, what));
  if (!n) {
    fail(code, std::string(what) + ": \"" + std::string(key) + "\" is not a whole number");
  }
  return *n;
}

// ---- Note bodies ------------------------------------------------------------------------------

// Splits "line\nline\n...\n" into lines; the text of an opened note always ends in "\n".
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      out.push_back(text);
      break;
    }
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return out;
}

// "<key> <value>" with a non-empty value; nullopt otherwise.
std::optional<std::string> keyed_value(std::string_view line, std::string_view key) {
  if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key ||
      line[key.size()] != ' ') {
    return std::nullopt;
  }
  return std::string(line.substr(key.size() + 1));
}

receipt_facts parse_receipt_note(std::string_view text) {
  const auto lines = lines_of(text);
  const auto bad = [](const std::string& why) {
    fail(codes::receipt_malformed, "the signed note is not a bid receipt: " + why);
  };
  static constexpr std::string_view keys[] = {"subject",           "bidder",      "upload",
                                              "ciphertext-digest", "file-digest", "size",
                                              "received-at",       "log-index"};
  if (lines.size() != 1 + std::size(keys))
    bad("it has " + std::to_string(lines.size()) + " lines, not 9");
  if (lines[0] != receipt_origin) bad("its first line is not " + std::string(receipt_origin));
  std::vector<std::string> v;
  for (std::size_t i = 0; i < std::size(keys); ++i) {
    auto value = keyed_value(lines[i + 1], keys[i]);
    if (!value)
      bad("line " + std::to_string(i + 2) + " is not \"" + std::string(keys[i]) + " ...\"");
    v.push_back(std::move(*value));
  }
  receipt_facts f;
  f.subject = v[0];
  const auto slash = f.subject.rfind('/');
  const auto lot = slash == std::string::npos
                       ? std::nullopt
                       : parse_decimal(std::string_view(f.subject).substr(slash + 1));
  if (slash == 0 || !lot) bad("subject '" + f.subject + "' is not <tender id>/<lot>");
  f.tender_id = f.subject.substr(0, slash);
  f.lot = *lot;
  f.bidder = v[1];
  f.upload_id = v[2];
  f.ciphertext_digest = v[3];
  f.file_digest = v[4];
  if (!is_lower_hex(f.ciphertext_digest, 64) || !is_lower_hex(f.file_digest, 64)) {
    bad("a digest is not 64 lower-case hex digits");
  }
  const auto size = parse_decimal(v[5]);
  const auto index = parse_decimal(v[7]);
  if (!size || !index) bad("size or log-index is not a decimal number");
  f.size = *size;
  f.received_at = v[6];
  f.log_index = *index;
  return f;
}

struct seal_note {
  std::string subject;
  std::string deadline;
  std::uint64_t count = 0;
  std::string root;
};

seal_note parse_seal_note(std::string_view text) {
  const auto lines = lines_of(text);
  const auto bad = [](const std::string& why) {
    fail(codes::seal_malformed, "the signed note is not a bid seal: " + why);
  };
  if (lines.size() != 5) bad("it has " + std::to_string(lines.size()) + " lines, not 5");
  if (lines[0] != seal_origin) bad("its first line is not " + std::string(seal_origin));
  seal_note n;
  const auto subject = keyed_value(lines[1], "subject");
  const auto deadline = keyed_value(lines[2], "deadline");
  const auto count = keyed_value(lines[3], "count");
  const auto root = keyed_value(lines[4], "root");
  if (!subject || !deadline || !count || !root) {
    bad("the lines must be subject, deadline, count and root");
  }
  const auto c = parse_decimal(*count);
  if (!c) bad("count is not a decimal number");
  return {*subject, *deadline, *c, *root};
}

// ---- The audit leaf ---------------------------------------------------------------------------

// The event of a canonical v1 or v2 audit leaf (protocol/docs/audit-log.md §2). A v2 leaf carries
// the event's salt, which the server discloses to the bidder in its own receipt only.
protocol::audit::event parse_leaf(const crypto::bytes& data) {
  std::string why;
  auto e = protocol::audit::parse_leaf_data(
      std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), &why);
  if (!e) fail(codes::receipt_leaf_mismatch, "leaf_data is not an audit event leaf: " + why);
  return std::move(*e);
}

std::string sha256_hex(std::string_view text) {
  return crypto::to_hex(crypto::sha256(text));
}

// Checks every payload field against the signed note. The payload is the canonical JSON of the
// `bid.submitted` event (docs/design/submission.md).
void check_payload(const std::string& payload, const receipt_facts& f, verified_receipt& out) {
  constexpr const char* code = codes::receipt_payload_mismatch;
  constexpr std::string_view what = "the payload";
  const auto o = parse_object(payload, code, what);
  const auto differ = [&](std::string_view field) {
    fail(code, "the payload's \"" + std::string(field) + "\" differs from the signed receipt");
  };
  if (string_member(o, "tender_id", code, what) != f.tender_id) differ("tender_id");
  if (u64_member(o, "lot", code, what) != f.lot) differ("lot");
  if (string_member(o, "bidder", code, what) != f.bidder) differ("bidder");
  if (string_member(o, "upload_id", code, what) != f.upload_id) differ("upload_id");
  if (string_member(o, "ciphertext_digest", code, what) != f.ciphertext_digest) {
    differ("ciphertext_digest");
  }
  if (string_member(o, "file_digest", code, what) != f.file_digest) differ("file_digest");
  if (u64_member(o, "size", code, what) != f.size) differ("size");
  if (string_member(o, "received_at", code, what) != f.received_at) differ("received_at");
  const auto optional_text = [&](std::string_view key) -> std::optional<std::string> {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) fail(code, "the payload's \"" + std::string(key) + "\" is not a string");
    return std::string(v->get_string());
  };
  out.source_ip = optional_text("source_ip");
  out.client_version = optional_text("client_version");
}

void check_digest_text(std::string_view hex, const char* code) {
  if (!is_lower_hex(hex, 64)) fail(code, "a digest is not 64 lower-case hex digits");
}

}  // namespace

// ---- Sealed files -----------------------------------------------------------------------------

sealed_file_facts examine_sealed_file(const std::filesystem::path& path) {
  sealed_file_facts facts;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(codes::receipt_file_mismatch, "cannot read " + path.string());
    auto hasher = crypto::get_suite(crypto::suite_id::sodium).make_hasher();
    std::vector<std::uint8_t> buf(std::size_t{1} << 20);
    std::uint64_t total = 0;
    while (in) {
      in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
      const auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      hasher->update(crypto::byte_view(buf.data(), n));
      total += n;
    }
    if (in.bad()) fail(codes::receipt_file_mismatch, "cannot read " + path.string());
    facts.file_digest = crypto::hex_encode(hasher->finish());
    facts.size = total;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(codes::receipt_file_mismatch, "cannot read " + path.string());
  const auto verified = crypto::sealed::verify(in);
  facts.ciphertext_digest = crypto::hex_encode(verified.ciphertext_digest);
  if (verified.layout.total_size != facts.size) {
    fail(codes::receipt_file_mismatch, path.string() + " changed while it was being read");
  }
  return facts;
}

// ---- Receipts ---------------------------------------------------------------------------------

verified_receipt verify_receipt(std::string_view receipt_json,
                                const std::vector<std::string>& verifier_keys,
                                const std::optional<sealed_file_facts>& file) {
  const auto keys = parse_keys(verifier_keys);
  constexpr const char* malformed = codes::receipt_malformed;
  constexpr std::string_view what = "the receipt";

  // 1. Shape.
  const auto doc = parse_object(receipt_json, malformed, what);
  if (string_member(doc, "type", malformed, what) != receipt_type) {
    fail(malformed, "the document's type is not " + std::string(receipt_type));
  }
  if (u64_member(doc, "version", malformed, what) != 1) {
    fail(malformed, "receipt version is not 1 (this verifier knows version 1)");
  }
  const std::string note_text = string_member(doc, "note", malformed, what);
  const std::uint64_t log_index = u64_member(doc, "log_index", malformed, what);
  const std::string leaf_b64 = string_member(doc, "leaf_data", malformed, what);
  const std::string payload = string_member(doc, "payload", malformed, what);
  const std::string checkpoint_text = string_member(doc, "checkpoint", malformed, what);
  const auto& proof_value = member(doc, "inclusion_proof", malformed, what);
  if (!proof_value.is_array()) fail(malformed, "\"inclusion_proof\" is not a list");
  std::vector<merkle::hash> proof;
  for (const auto& h : proof_value.get_array()) {
    if (!h.is_string()) fail(malformed, "an inclusion proof hash is not a string");
    try {
      proof.push_back(merkle::hash_from_bytes(crypto::base64_decode(h.get_string())));
    } catch (const crypto::error&) {
      fail(malformed, "an inclusion proof hash is not 32 bytes in base64");
    }
  }
  crypto::bytes leaf;
  try {
    leaf = crypto::base64_decode(leaf_b64);
  } catch (const crypto::error&) {
    fail(malformed, "\"leaf_data\" is not base64");
  }

  // 2. The receipt note: signed by the log key, in the receipt layout.
  note::opened_note opened;
  try {
    opened = note::open(note_text, keys);
  } catch (const crypto::error& e) {
    fail(codes::receipt_bad_signature, "the receipt note is not signed by the log key: " +
                                           std::string(e.what()) + " [" + e.code() + "]");
  }
  verified_receipt out;
  out.facts = parse_receipt_note(opened.text);
  out.signer = signer_of(opened);
  const auto& f = out.facts;
  if (f.log_index != log_index) {
    fail(malformed, "\"log_index\" " + std::to_string(log_index) +
                        " differs from the signed note's " + std::to_string(f.log_index));
  }

  // 3. The checkpoint: signed by the log key.
  note::opened_checkpoint cp;
  try {
    cp.note = note::open(checkpoint_text, keys);
    cp.cp = note::parse_checkpoint(cp.note.text);
  } catch (const crypto::error& e) {
    fail(codes::receipt_bad_checkpoint,
         "the checkpoint is not a checkpoint signed by the log key: " + std::string(e.what()) +
             " [" + e.code() + "]");
  }
  out.checkpoint_origin = cp.cp.origin;
  out.checkpoint_size = cp.cp.size;
  out.checkpoint_root = crypto::base64_encode(cp.cp.root);

  // 4. The leaf is this bid's `bid.submitted` event at the note's log index.
  const auto event = parse_leaf(leaf);
  if (event.seq != f.log_index) {
    fail(codes::receipt_leaf_mismatch, "the leaf is event " + std::to_string(event.seq) +
                                           ", the receipt names event " +
                                           std::to_string(f.log_index));
  }
  if (event.action != submitted_action) {
    fail(codes::receipt_leaf_mismatch,
         "the leaf records '" + event.action + "', not " + std::string(submitted_action));
  }
  if (event.subject != f.subject) {
    fail(codes::receipt_leaf_mismatch,
         "the leaf's subject '" + event.subject.value_or("") + "' is not " + f.subject);
  }
  out.event_time = event.time;
  out.actor = event.actor;
  out.role = event.role;

  // 5. The payload is the one the leaf commits to, and says what the note says.
  const std::string payload_digest = sha256_hex(payload);
  if (event.payload_digest != payload_digest) {
    fail(codes::receipt_payload_mismatch, "SHA-256 of the payload is " + payload_digest +
                                              ", the leaf records " +
                                              event.payload_digest.value_or("none"));
  }
  check_payload(payload, f, out);

  // 6. The leaf is in the signed tree.
  try {
    if (f.log_index >= cp.cp.size) {
      throw crypto::error(merkle::err_index_out_of_range,
                          "event " + std::to_string(f.log_index) + " is beyond the checkpoint's " +
                              std::to_string(cp.cp.size) + " events");
    }
    const auto leaf_hash = merkle::leaf_hash(leaf);
    merkle::verify_inclusion(f.log_index, cp.cp.size, leaf_hash, proof, cp.cp.root);
  } catch (const crypto::error& e) {
    fail(codes::receipt_proof_mismatch,
         "the inclusion proof does not lead to the checkpoint's root: " + std::string(e.what()) +
             " [" + e.code() + "]");
  }

  // 7. Optionally, the sealed file is the one received.
  if (file) {
    if (file->file_digest != f.file_digest) {
      fail(codes::receipt_file_mismatch,
           "the file's SHA-256 is " + file->file_digest + ", the receipt names " + f.file_digest);
    }
    if (file->ciphertext_digest != f.ciphertext_digest) {
      fail(codes::receipt_file_mismatch, "the file's ciphertext digest is " +
                                             file->ciphertext_digest + ", the receipt names " +
                                             f.ciphertext_digest);
    }
    if (file->size != f.size) {
      fail(codes::receipt_file_mismatch, "the file has " + std::to_string(file->size) +
                                             " bytes, the receipt names " + std::to_string(f.size));
    }
  }
  return out;
}

// ---- Seals ------------------------------------------------------------------------------------

verified_seal verify_seal(std::string_view seal_json, const std::vector<std::string>& verifier_keys,
                          const std::optional<std::string>& digest) {
  const auto keys = parse_keys(verifier_keys);
  constexpr const char* malformed = codes::seal_malformed;
  constexpr std::string_view what = "the seal";

  std::optional<std::string> wanted;
  if (digest) {
    std::string d = *digest;
    std::transform(d.begin(), d.end(), d.begin(), [](char c) {
      return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    if (!is_lower_hex(d, 64)) {
      fail(malformed, "the digest to look for is not 64 hex digits: '" + *digest + "'");
    }
    wanted = std::move(d);
  }

  // 1. Shape.
  const auto doc = parse_object(seal_json, malformed, what);
  verified_seal out;
  out.subject = string_member(doc, "subject", malformed, what);
  out.deadline = string_member(doc, "deadline", malformed, what);
  out.count = u64_member(doc, "count", malformed, what);
  out.root = string_member(doc, "root", malformed, what);
  const std::string note_text = string_member(doc, "note", malformed, what);
  const auto& list = member(doc, "digests", malformed, what);
  if (!list.is_array()) fail(malformed, "\"digests\" is not a list");
  for (const auto& d : list.get_array()) {
    if (!d.is_string()) fail(malformed, "a digest is not a string");
    check_digest_text(d.get_string(), malformed);
    out.digests.emplace_back(d.get_string());
  }
  crypto::bytes root_bytes;
  try {
    root_bytes = crypto::base64_decode(out.root);
  } catch (const crypto::error&) {
    fail(malformed, "\"root\" is not base64");
  }
  if (root_bytes.size() != 32) fail(malformed, "\"root\" is not 32 bytes");

  // 2. The note: signed by the log key, and it states the document's subject, deadline, count
  // and root.
  note::opened_note opened;
  try {
    opened = note::open(note_text, keys);
  } catch (const crypto::error& e) {
    fail(codes::seal_bad_signature, "the seal note is not signed by the log key: " +
                                        std::string(e.what()) + " [" + e.code() + "]");
  }
  out.signer = signer_of(opened);
  const auto n = parse_seal_note(opened.text);
  const auto differ = [](std::string_view field) {
    fail(codes::seal_note_mismatch,
         "the seal's \"" + std::string(field) + "\" differs from the signed note");
  };
  if (n.subject != out.subject) differ("subject");
  if (n.deadline != out.deadline) differ("deadline");
  if (n.count != out.count) differ("count");
  if (n.root != out.root) differ("root");

  // 3. The list: as many digests as the count, sorted, giving the root.
  if (out.digests.size() != out.count) {
    fail(codes::seal_count_mismatch, "the seal lists " + std::to_string(out.digests.size()) +
                                         " digests but counts " + std::to_string(out.count));
  }
  for (std::size_t i = 1; i < out.digests.size(); ++i) {
    if (!(out.digests[i - 1] < out.digests[i])) {
      fail(codes::seal_not_sorted, "the digests are not in strictly ascending order (at position " +
                                       std::to_string(i) + ")");
    }
  }
  std::vector<merkle::hash> leaves;
  leaves.reserve(out.digests.size());
  for (const auto& d : out.digests)
    leaves.push_back(merkle::leaf_hash(crypto::hex_decode(d)));
  const auto root = merkle::root_from_leaf_hashes(leaves);
  if (!crypto::constant_time_equal(root, root_bytes)) {
    fail(codes::seal_root_mismatch, "the digests give the root " + crypto::base64_encode(root) +
                                        ", the signed seal says " + out.root);
  }

  // 4. Optionally, the bid is in it.
  if (wanted) {
    const auto it = std::lower_bound(out.digests.begin(), out.digests.end(), *wanted);
    if (it == out.digests.end() || *it != *wanted) {
      fail(codes::seal_not_included, "the digest " + *wanted + " is not among the " +
                                         std::to_string(out.count) + " sealed bids of " +
                                         out.subject);
    }
    out.position = static_cast<std::uint64_t>(it - out.digests.begin());
  }
  return out;
}

}  // namespace tender::client::receipts
