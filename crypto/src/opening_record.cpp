// The opening record file (opening_record.hpp): digest, note text and the offline check.

#include <tender/crypto/opening_record.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/canonical_json.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/keys.hpp>

#include <boost/json.hpp>

#include <vector>

namespace tender::crypto {
namespace json = boost::json;

namespace {

[[noreturn]] void fail(const char* code, const std::string& message) {
  throw error(code, message);
}

const json::string& need_string(const json::object& o, std::string_view key,
                                std::string_view where) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    fail(record_err_bad_format,
         std::string(where) + " has no text field '" + std::string(key) + "'");
  }
  return v->get_string();
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string record_digest(const json::value& record) {
  return to_hex(sha256(canonical_json(record)));
}

std::string note_text(std::string_view tender_id, std::string_view digest) {
  std::string out = "tenderhall opening record v1\n";
  out += tender_id;
  out += '\n';
  out += digest;
  out += '\n';
  return out;
}

std::string hall_signed_message(std::string_view tender_id, std::string_view action,
                                std::string_view challenge_id, std::string_view challenge_b64,
                                std::string_view payload) {
  std::string m = "tenderhall-hall-v1\n";
  m += tender_id;
  m += '\n';
  m += action;
  m += '\n';
  m += challenge_id;
  m += '\n';
  m += challenge_b64;
  m += '\n';
  m += payload;
  return m;
}

record_check verify_record_file(std::string_view text, const note::verifier_key& log_key) {
  json::value file;
  try {
    file = json::parse(text);
  } catch (const std::exception&) {
    fail(record_err_bad_format, "the record file is not JSON");
  }
  if (!file.is_object()) fail(record_err_bad_format, "the record file is not a JSON object");
  const auto& f = file.get_object();
  const auto* rec = f.if_contains("record");
  if (rec == nullptr || !rec->is_object()) {
    fail(record_err_bad_format, "the record file has no object 'record'");
  }
  const auto& r = rec->get_object();
  if (need_string(r, "format", "record") != record_format) {
    fail(record_err_bad_format, "the record's format is not " + std::string(record_format));
  }
  const auto* tender = r.if_contains("tender");
  if (tender == nullptr || !tender->is_object()) {
    fail(record_err_bad_format, "the record has no object 'tender'");
  }
  record_check out;
  out.tender_id = need_string(tender->get_object(), "id", "record.tender");
  out.record_digest = need_string(r, "record_digest", "record");
  const std::string digest(need_string(f, "digest", "the record file"));
  if (!is_hex64(digest)) fail(record_err_bad_format, "'digest' is not 64 lower-case hex digits");
  const auto* li = f.if_contains("log_index");
  if (li == nullptr || !li->is_int64()) {
    fail(record_err_bad_format, "the record file has no integer 'log_index'");
  }
  out.log_index = li->get_int64();
  const std::string note_str(need_string(f, "note", "the record file"));

  const std::string computed = record_digest(*rec);
  if (computed != digest) {
    fail(record_err_digest_mismatch,
         "the record's SHA-256 is " + computed + ", the file says " + digest);
  }
  out.digest = digest;

  note::parsed_note parsed;
  try {
    parsed = note::parse(note_str);
  } catch (const error& e) {
    fail(record_err_bad_note, std::string("the note is malformed: ") + e.what());
  }
  if (parsed.text != note_text(out.tender_id, digest)) {
    fail(record_err_bad_note, "the note's text does not name this tender and digest");
  }
  try {
    const std::vector<note::verifier_key> known{log_key};
    const auto opened = note::open(note_str, known);
    out.signed_by = opened.verified.front().name;
  } catch (const error& e) {
    fail(record_err_bad_signature,
         std::string("the note is not signed by the given log key: ") + e.what());
  }

  const auto* confs = r.if_contains("confirmations");
  if (confs != nullptr && !confs->is_array()) {
    fail(record_err_bad_format, "'confirmations' is not an array");
  }
  if (confs != nullptr) {
    for (const auto& c : confs->get_array()) {
      if (!c.is_object()) fail(record_err_bad_format, "a confirmation is not an object");
      const auto& o = c.get_object();
      ++out.confirmations;
      const std::string org(need_string(o, "org_id", "a confirmation"));
      bool ok = false;
      try {
        const auto der = base64_decode(need_string(o, "public_key", "a confirmation"));
        const auto key = public_key::from_der(der);
        const std::string fp(need_string(o, "key", "a confirmation"));
        const auto sig = base64_decode(need_string(o, "signature", "a confirmation"));
        const auto message = hall_signed_message(
            out.tender_id, "confirm", need_string(o, "challenge_id", "a confirmation"),
            need_string(o, "challenge", "a confirmation"), out.record_digest);
        ok = key.fingerprint() == fp && verify_message(key, as_bytes(message), sig);
      } catch (const error& e) {
        if (std::string_view(e.code()) == record_err_bad_format) throw;
        ok = false;
      }
      if (!ok) {
        fail(record_err_confirmation_bad_signature,
             "the confirmation of " + org + " does not verify");
      }
      ++out.confirmations_verified;
    }
  }
  return out;
}

}  // namespace tender::crypto
