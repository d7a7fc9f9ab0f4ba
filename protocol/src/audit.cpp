#include <tender/protocol/audit.hpp>

#include "json_read.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace tender::protocol::audit {
namespace json = boost::json;

namespace {

using namespace json_read;  // parse, as_object, field, string_field, u64_field, ...

bool has_control(std::string_view s) {
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

std::string check_text(std::string_view name, std::string_view value, std::size_t limit) {
  if (value.empty()) return std::string(name) + " is empty";
  if (value.size() > limit) {
    return std::string(name) + " is longer than " + std::to_string(limit) + " bytes";
  }
  if (has_control(value)) return std::string(name) + " contains a control character";
  return {};
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "YYYY-MM-DDTHH:MM:SS.ffffffZ": the shape only; the database produced the value.
bool is_canonical_time(std::string_view t) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (t.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? !is_digit(t[i]) : t[i] != shape[i]) return false;
  }
  return true;
}

bool is_lower_hex(std::string_view s) {
  for (const char c : s) {
    if (!is_digit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

void append_field(std::string& out, std::string_view value) {
  const auto n = static_cast<std::uint32_t>(value.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(value);
}

json::value nullable(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

json::array string_list(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items)
    out.emplace_back(s);
  return out;
}

json::object record_object(const event_record& r) {
  const event& e = r.fields;
  if (r.withheld) {
    return {{"seq", e.seq}, {"time", e.time}, {"withheld", true}, {"leaf_hash", r.leaf_hash_hex}};
  }
  return {{"seq", e.seq},
          {"time", e.time},
          {"actor", e.actor},
          {"role", e.role},
          {"action", e.action},
          {"subject", nullable(e.subject)},
          {"payload_digest", nullable(e.payload_digest)},
          {"salt", nullable(e.salt)},
          {"leaf_data", r.leaf_data_base64},
          {"leaf_hash", r.leaf_hash_hex}};
}

event_record record_from(const json::value& v, std::string_view what) {
  const auto& o = as_object(v, what);
  event_record r;
  r.fields.seq = u64_field(o, "seq", what);
  r.fields.time = string_field(o, "time", what);
  if (const auto* w = o.if_contains("withheld"); w != nullptr) {
    if (!w->is_bool() || !w->get_bool()) wrong_type(what, "withheld", "true");
    r.withheld = true;
    r.leaf_hash_hex = string_field(o, "leaf_hash", what);
    return r;
  }
  r.fields.actor = string_field(o, "actor", what);
  r.fields.role = string_field(o, "role", what);
  r.fields.action = string_field(o, "action", what);
  r.fields.subject = nullable_string_field(o, "subject", what);
  r.fields.payload_digest = nullable_string_field(o, "payload_digest", what);
  r.fields.salt = nullable_string_field(o, "salt", what);
  r.leaf_data_base64 = string_field(o, "leaf_data", what);
  r.leaf_hash_hex = string_field(o, "leaf_hash", what);
  return r;
}

}  // namespace

std::string check_event(const event& e) {
  if (!is_canonical_time(e.time)) {
    return "time '" + e.time + "' is not in the form YYYY-MM-DDTHH:MM:SS.ffffffZ";
  }
  if (auto p = check_text("actor", e.actor, max_actor_bytes); !p.empty()) return p;
  if (auto p = check_text("role", e.role, max_role_bytes); !p.empty()) return p;
  if (auto p = check_text("action", e.action, max_action_bytes); !p.empty()) return p;
  if (e.subject) {
    if (auto p = check_text("subject", *e.subject, max_subject_bytes); !p.empty()) return p;
  }
  if (e.payload_digest && (e.payload_digest->size() != 64 || !is_lower_hex(*e.payload_digest))) {
    return "payload_digest must be 64 lower-case hex digits";
  }
  if (e.salt && (e.salt->size() != 2 * salt_bytes || !is_lower_hex(*e.salt))) {
    return "salt must be " + std::to_string(2 * salt_bytes) + " lower-case hex digits";
  }
  return {};
}

std::string leaf_data(const event& e) {
  std::string out;
  out.reserve(64 + e.time.size() + e.actor.size() + e.role.size() + e.action.size() +
              (e.subject ? e.subject->size() : 0) + 64 + 68);
  append_field(out, e.salt ? leaf_tag_v2 : leaf_tag_v1);
  append_field(out, std::to_string(e.seq));
  append_field(out, e.time);
  append_field(out, e.actor);
  append_field(out, e.role);
  append_field(out, e.action);
  append_field(out, e.subject.value_or(""));
  append_field(out, e.payload_digest.value_or(""));
  if (e.salt) append_field(out, *e.salt);
  return out;
}

std::optional<event> parse_leaf_data(std::string_view data, std::string* why) {
  const auto bad = [why](std::string problem) -> std::optional<event> {
    if (why != nullptr) *why = std::move(problem);
    return std::nullopt;
  };
  // At most nine fields; a longer list is refused before it is all split.
  std::vector<std::string_view> fields;
  std::string_view rest = data;
  while (!rest.empty()) {
    if (fields.size() == 9) return bad("it has more than nine fields");
    if (rest.size() < 4) return bad("a field length is cut short");
    const auto byte = [&](std::size_t i) {
      return std::uint32_t{static_cast<unsigned char>(rest[i])};
    };
    const std::uint32_t len = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
    rest.remove_prefix(4);
    if (rest.size() < len) return bad("a field runs past the end");
    fields.push_back(rest.substr(0, len));
    rest.remove_prefix(len);
  }
  if (fields.empty()) return bad("it is empty");
  std::size_t expected = 0;
  if (fields[0] == leaf_tag_v1) {
    expected = 8;
  } else if (fields[0] == leaf_tag_v2) {
    expected = 9;
  } else {
    return bad("its tag is neither " + std::string(leaf_tag_v1) + " nor " +
               std::string(leaf_tag_v2));
  }
  if (fields.size() != expected) {
    return bad("a " + std::string(fields[0]) + " leaf has " + std::to_string(expected) +
               " fields, this one " + std::to_string(fields.size()));
  }
  const std::string_view seq = fields[1];
  if (seq.empty() || (seq.size() > 1 && seq.front() == '0') ||
      !std::all_of(seq.begin(), seq.end(), is_digit)) {
    return bad("its sequence number is not plain decimal");
  }
  event e;
  const auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), e.seq);
  if (ec != std::errc() || end != seq.data() + seq.size()) {
    return bad("its sequence number is out of range");
  }
  e.time = fields[2];
  e.actor = fields[3];
  e.role = fields[4];
  e.action = fields[5];
  if (!fields[6].empty()) e.subject = std::string(fields[6]);
  if (!fields[7].empty()) e.payload_digest = std::string(fields[7]);
  if (expected == 9) e.salt = std::string(fields[8]);
  if (auto problem = check_event(e); !problem.empty()) return bad(std::move(problem));
  // Every field is now in its canonical form, so re-encoding gives `data` back; the check stays
  // as the definition of "canonical".
  if (leaf_data(e) != data) return bad("it is not in canonical form");
  return e;
}

std::string to_json(const event_record& r) {
  return json::serialize(record_object(r));
}

std::string to_json(const event_page& p) {
  json::array events;
  for (const auto& r : p.events)
    events.emplace_back(record_object(r));
  return json::serialize(
      json::object{{"log_size", p.log_size},
                   {"from", p.from},
                   {"events", std::move(events)},
                   {"next", p.next ? json::value(*p.next) : json::value(nullptr)}});
}

std::string to_json(const inclusion_proof& p) {
  return json::serialize(json::object{{"index", p.index},
                                      {"size", p.size},
                                      {"leaf_hash", p.leaf_hash_hex},
                                      {"proof", string_list(p.proof_hex)}});
}

std::string to_json(const consistency_proof& p) {
  return json::serialize(
      json::object{{"old", p.old_size}, {"new", p.new_size}, {"proof", string_list(p.proof_hex)}});
}

event_record parse_event_record(std::string_view text) {
  constexpr std::string_view what = "audit event";
  return record_from(parse(text, what), what);
}

event_page parse_event_page(std::string_view text) {
  constexpr std::string_view what = "audit event page";
  const auto v = parse(text, what);
  const auto& o = as_object(v, what);
  event_page p;
  p.log_size = u64_field(o, "log_size", what);
  p.from = u64_field(o, "from", what);
  const auto& events = field(o, "events", what);
  if (!events.is_array()) wrong_type(what, "events", "a list of events");
  for (const auto& e : events.get_array())
    p.events.push_back(record_from(e, "audit event page: event"));
  if (!field(o, "next", what).is_null()) p.next = u64_field(o, "next", what);
  return p;
}

inclusion_proof parse_inclusion_proof(std::string_view text) {
  constexpr std::string_view what = "inclusion proof";
  const auto v = parse(text, what);
  const auto& o = as_object(v, what);
  inclusion_proof p;
  p.index = u64_field(o, "index", what);
  p.size = u64_field(o, "size", what);
  p.leaf_hash_hex = string_field(o, "leaf_hash", what);
  p.proof_hex = string_list_field(o, "proof", what);
  return p;
}

consistency_proof parse_consistency_proof(std::string_view text) {
  constexpr std::string_view what = "consistency proof";
  const auto v = parse(text, what);
  const auto& o = as_object(v, what);
  consistency_proof p;
  p.old_size = u64_field(o, "old", what);
  p.new_size = u64_field(o, "new", what);
  p.proof_hex = string_list_field(o, "proof", what);
  return p;
}

}  // namespace tender::protocol::audit
