#include "openapi_validator.hpp"

#include <test_support.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <stdexcept>

namespace tender::test {
namespace json = boost::json;

namespace {

std::string str(json::string_view s) {
  return {s.data(), s.size()};
}

std::string short_text(const json::value& v) {
  auto s = json::serialize(v);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "value";
}

bool has_type(const json::value& v, std::string_view type) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_bool();
  if (type == "string") return v.is_string();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_int64() || v.is_uint64()) return true;
    if (v.is_double()) {
      const double d = v.get_double();
      return std::isfinite(d) && std::floor(d) == d;
    }
  }
  return false;
}

double number_of(const json::value& v) {
  return v.to_number<double>();
}

// RFC 3339 date-time, loosely: the shape, not the calendar.
bool is_date_time(std::string_view s) {
  static const std::regex pattern(
      R"(^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
  return std::regex_match(s.begin(), s.end(), pattern);
}

// One step of a JSON pointer, with ~1 and ~0 decoded.
std::string pointer_token(std::string_view t) {
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '~' && i + 1 < t.size()) {
      out += t[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += t[i];
    }
  }
  return out;
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    out.emplace_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string media_type(std::string_view content_type) {
  auto t = std::string(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ')
    t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

bool is_json_media(const std::string& m) {
  return m == "application/json" || (m.size() > 5 && m.ends_with("+json"));
}

const std::set<std::string>& known_keywords() {
  static const std::set<std::string> k = {"$ref",
                                          "type",
                                          "properties",
                                          "required",
                                          "additionalProperties",
                                          "items",
                                          "enum",
                                          "const",
                                          "oneOf",
                                          "anyOf",
                                          "allOf",
                                          "format",
                                          "minimum",
                                          "maximum",
                                          "exclusiveMinimum",
                                          "exclusiveMaximum",
                                          "minLength",
                                          "maxLength",
                                          "minItems",
                                          "maxItems",
                                          "pattern",
                                          "description",
                                          "title",
                                          "examples",
                                          "example",
                                          "default",
                                          "contentEncoding",
                                          "contentMediaType",
                                          "deprecated",
                                          "readOnly",
                                          "writeOnly"};
  return k;
}

}  // namespace

openapi_validator::openapi_validator(json::value spec) : spec_(std::move(spec)) {
  if (!spec_.is_object() || spec_.as_object().if_contains("paths") == nullptr) {
    throw std::invalid_argument("openapi_validator: the document has no 'paths'");
  }
}

const openapi_validator& openapi_validator::project() {
  static const openapi_validator instance = [] {
    namespace fs = std::filesystem;
    const fs::path out = TENDER_OPENAPI_JSON;
    const fs::path yaml = fs::path(TENDER_REPO_ROOT) / "protocol" / "openapi.yaml";
    std::error_code ec;
    const bool stale = !fs::exists(out, ec) || fs::last_write_time(out) < fs::last_write_time(yaml);
    if (stale) {
      fs::create_directories(out.parent_path(), ec);
      const auto r = run_command(
          {std::string(TENDER_REPO_ROOT) + "/tests/node/redocly.sh", "bundle", out.string()});
      if (r.exit_code != 0) {
        throw std::runtime_error("cannot bundle protocol/openapi.yaml to JSON: " + r.output);
      }
    }
    boost::system::error_code jec;
    auto v = json::parse(read_file(out.string()), jec);
    if (jec) throw std::runtime_error("cannot parse " + out.string() + ": " + jec.message());
    return openapi_validator(std::move(v));
  }();
  return instance;
}

const json::value& openapi_validator::resolve(const json::value& schema,
                                              std::vector<std::string>& out) const {
  const json::value* s = &schema;
  for (int hops = 0; hops < 32; ++hops) {
    const auto* o = s->if_object();
    const auto* ref = o != nullptr ? o->if_contains("$ref") : nullptr;
    if (ref == nullptr || !ref->is_string()) return *s;
    const std::string r = str(ref->get_string());
    if (!r.starts_with("#/")) {
      out.push_back("unsupported $ref '" + r + "' (only local references)");
      return *s;
    }
    const json::value* cur = &spec_;
    for (const auto& tok : split(std::string_view(r).substr(2))) {
      const auto key = pointer_token(tok);
      const auto* obj = cur->if_object();
      cur = obj != nullptr ? obj->if_contains(key) : nullptr;
      if (cur == nullptr) {
        out.push_back("unresolvable $ref '" + r + "'");
        return *s;
      }
    }
    s = cur;
  }
  out.push_back("$ref cycle");
  return *s;
}

std::vector<std::string> openapi_validator::validate(const json::value& instance,
                                                     const json::value& schema,
                                                     const std::string& where) const {
  std::vector<std::string> out;
  validate_into(instance, schema, where, out, 0);
  return out;
}

void openapi_validator::validate_into(const json::value& v, const json::value& raw_schema,
                                      const std::string& where, std::vector<std::string>& out,
                                      int depth) const {
  if (depth > 64) {
    out.push_back(where + ": schema nesting too deep");
    return;
  }
  // A $ref applies its target; in OpenAPI 3.1 its sibling keywords apply as well.
  if (const auto* o = raw_schema.if_object()) {
    if (const auto* ref = o->if_contains("$ref")) {
      const json::value only_ref = json::object{{"$ref", *ref}};
      const json::value& target = resolve(only_ref, out);
      if (&target != &only_ref) validate_into(v, target, where, out, depth + 1);
    }
  }
  const json::value& schema = raw_schema;
  if (schema.is_bool()) {
    if (!schema.get_bool()) out.push_back(where + ": no value is allowed here");
    return;
  }
  const auto* s = schema.if_object();
  if (s == nullptr) {
    out.push_back(where + ": the schema is not an object");
    return;
  }
  for (const auto& kv : *s) {
    const auto key = str(kv.key());
    if (!known_keywords().contains(key) && !key.starts_with("x-")) {
      out.push_back(where + ": schema keyword '" + key + "' is not supported by the validator");
    }
  }

  if (const auto* t = s->if_contains("type")) {
    bool ok = false;
    std::string names;
    if (t->is_string()) {
      ok = has_type(v, t->get_string());
      names = str(t->get_string());
    } else if (t->is_array()) {
      for (const auto& e : t->get_array()) {
        if (e.is_string() && has_type(v, e.get_string())) ok = true;
        names += (names.empty() ? "" : " or ") + (e.is_string() ? str(e.get_string()) : "?");
      }
    }
    if (!ok) {
      out.push_back(where + ": expected " + names + ", got " + kind_of(v) + " " + short_text(v));
      return;  // the other keywords would only repeat the problem
    }
  }
  if (const auto* c = s->if_contains("const"); c != nullptr && v != *c) {
    out.push_back(where + ": expected " + short_text(*c) + ", got " + short_text(v));
  }
  if (const auto* e = s->if_contains("enum"); e != nullptr && e->is_array()) {
    const auto& list = e->get_array();
    if (std::find(list.begin(), list.end(), v) == list.end()) {
      out.push_back(where + ": " + short_text(v) + " is not one of " + short_text(*e));
    }
  }
  if (v.is_number()) {
    const double d = number_of(v);
    if (const auto* m = s->if_contains("minimum"); m != nullptr && d < number_of(*m))
      out.push_back(where + ": " + short_text(v) + " is below the minimum " + short_text(*m));
    if (const auto* m = s->if_contains("maximum"); m != nullptr && d > number_of(*m))
      out.push_back(where + ": " + short_text(v) + " is above the maximum " + short_text(*m));
    if (const auto* m = s->if_contains("exclusiveMinimum"); m != nullptr && d <= number_of(*m))
      out.push_back(where + ": " + short_text(v) + " is not above " + short_text(*m));
    if (const auto* m = s->if_contains("exclusiveMaximum"); m != nullptr && d >= number_of(*m))
      out.push_back(where + ": " + short_text(v) + " is not below " + short_text(*m));
  }
  if (v.is_string()) {
    const auto& text = v.get_string();
    // Length in code points, as JSON Schema counts it.
    const auto length =
        static_cast<std::int64_t>(std::count_if(text.begin(), text.end(), [](char ch) {
          return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
        }));
    if (const auto* m = s->if_contains("minLength");
        m != nullptr && length < m->to_number<std::int64_t>())
      out.push_back(where + ": string shorter than " + short_text(*m));
    if (const auto* m = s->if_contains("maxLength");
        m != nullptr && length > m->to_number<std::int64_t>())
      out.push_back(where + ": string longer than " + short_text(*m));
    if (const auto* p = s->if_contains("pattern"); p != nullptr && p->is_string()) {
      try {
        const std::regex re(str(p->get_string()), std::regex::ECMAScript);
        if (!std::regex_search(text.begin(), text.end(), re)) {
          out.push_back(where + ": " + short_text(v) + " does not match " + short_text(*p));
        }
      } catch (const std::regex_error&) {
        out.push_back(where + ": pattern " + short_text(*p) + " is not a valid regex");
      }
    }
    if (const auto* f = s->if_contains("format"); f != nullptr && f->is_string() &&
                                                  f->get_string() == "date-time" &&
                                                  !is_date_time({text.data(), text.size()})) {
      out.push_back(where + ": " + short_text(v) + " is not an RFC 3339 date-time");
    }
  }
  if (const auto* arr = v.if_array()) {
    const auto n = static_cast<std::int64_t>(arr->size());
    if (const auto* m = s->if_contains("minItems");
        m != nullptr && n < m->to_number<std::int64_t>())
      out.push_back(where + ": fewer than " + short_text(*m) + " items");
    if (const auto* m = s->if_contains("maxItems");
        m != nullptr && n > m->to_number<std::int64_t>())
      out.push_back(where + ": more than " + short_text(*m) + " items");
    if (const auto* items = s->if_contains("items")) {
      for (std::size_t i = 0; i < arr->size(); ++i)
        validate_into((*arr)[i], *items, where + "[" + std::to_string(i) + "]", out, depth + 1);
    }
  }
  if (const auto* obj = v.if_object()) {
    if (const auto* req = s->if_contains("required"); req != nullptr && req->is_array()) {
      for (const auto& name : req->get_array()) {
        if (name.is_string() && !obj->contains(name.get_string()))
          out.push_back(where + ": required field '" + str(name.get_string()) + "' is missing");
      }
    }
    const auto* props = s->if_contains("properties");
    const auto* prop_obj = props != nullptr ? props->if_object() : nullptr;
    const auto* extra = s->if_contains("additionalProperties");
    for (const auto& kv : *obj) {
      const auto key = str(kv.key());
      const std::string at = where + "." + key;
      if (prop_obj != nullptr) {
        if (const auto* ps = prop_obj->if_contains(key)) {
          validate_into(kv.value(), *ps, at, out, depth + 1);
          continue;
        }
      }
      if (extra == nullptr) continue;
      if (extra->is_bool()) {
        if (!extra->get_bool()) out.push_back(where + ": field '" + key + "' is not in the schema");
      } else {
        validate_into(kv.value(), *extra, at, out, depth + 1);
      }
    }
  }
  if (const auto* all = s->if_contains("allOf"); all != nullptr && all->is_array()) {
    for (const auto& sub : all->get_array())
      validate_into(v, sub, where, out, depth + 1);
  }
  const auto count_matches = [&](const json::array& subs, std::vector<std::string>& first) {
    int matches = 0;
    for (const auto& sub : subs) {
      std::vector<std::string> problems;
      validate_into(v, sub, where, problems, depth + 1);
      if (problems.empty()) {
        ++matches;
      } else if (first.empty()) {
        first = problems;
      }
    }
    return matches;
  };
  if (const auto* any = s->if_contains("anyOf"); any != nullptr && any->is_array()) {
    std::vector<std::string> first;
    if (count_matches(any->get_array(), first) == 0) {
      out.push_back(where + ": matches none of anyOf (first: " +
                    (first.empty() ? std::string("?") : first.front()) + ")");
    }
  }
  if (const auto* one = s->if_contains("oneOf"); one != nullptr && one->is_array()) {
    std::vector<std::string> first;
    const int n = count_matches(one->get_array(), first);
    if (n == 0) {
      out.push_back(where + ": matches none of oneOf (first: " +
                    (first.empty() ? std::string("?") : first.front()) + ")");
    } else if (n > 1) {
      out.push_back(where + ": matches " + std::to_string(n) +
                    " schemas of oneOf, not exactly one");
    }
  }
}

std::vector<std::string> openapi_validator::check(std::string_view method, std::string_view target,
                                                  const client::http_response& r) const {
  std::vector<std::string> out;
  const std::string path(target.substr(0, target.find('?')));
  std::string m(method);
  std::transform(m.begin(), m.end(), m.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string what = std::string(method) + " " + path + " -> " + std::to_string(r.status);
  const auto fail = [&](const std::string& problem) { out.push_back(what + ": " + problem); };

  // The operation: the path template with the most literal segments that matches.
  const auto segments = split(path);
  const json::object* op = nullptr;
  const json::object* path_item = nullptr;
  int best = -1;
  for (const auto& kv : spec_.as_object().at("paths").as_object()) {
    const auto tmpl = split(str(kv.key()));
    if (tmpl.size() != segments.size()) continue;
    int literal = 0;
    bool match = true;
    for (std::size_t i = 0; i < tmpl.size() && match; ++i) {
      if (tmpl[i].size() > 2 && tmpl[i].front() == '{' && tmpl[i].back() == '}') {
        match = !segments[i].empty();
      } else {
        match = tmpl[i] == segments[i];
        ++literal;
      }
    }
    if (match && literal > best && kv.value().is_object()) {
      best = literal;
      path_item = &kv.value().get_object();
    }
  }
  if (path_item == nullptr) {
    fail("the path is not in the spec");
    return out;
  }
  if (const auto* o = path_item->if_contains(m); o != nullptr && o->is_object())
    op = &o->get_object();
  if (op == nullptr) {
    fail("the method is not documented for this path");
    return out;
  }

  // The response: the exact status, its range (4XX), or default.
  const auto* responses = op->if_contains("responses");
  const json::value* doc = nullptr;
  if (responses != nullptr && responses->is_object()) {
    const auto& rs = responses->get_object();
    const std::string status = std::to_string(r.status);
    const std::string range = status.substr(0, 1) + "XX";
    for (const auto& key : {status, range, std::string("default")}) {
      if (const auto* d = rs.if_contains(key)) {
        doc = d;
        break;
      }
    }
  }
  if (doc == nullptr) {
    fail("status " + std::to_string(r.status) + " is not documented for this operation");
    return out;
  }
  std::vector<std::string> ref_problems;
  const auto& response = resolve(*doc, ref_problems);
  for (const auto& p : ref_problems)
    fail(p);
  if (m == "head") {
    // The answer to HEAD is the headers of the documented answer without its body.
    if (!r.body.empty()) fail("a HEAD answer carries a body");
    return out;
  }
  const auto* content =
      response.is_object() ? response.get_object().if_contains("content") : nullptr;
  if (content == nullptr || !content->is_object() || content->get_object().empty()) {
    if (!r.body.empty()) fail("a body is sent where the spec documents none");
    return out;
  }
  const auto type = media_type(r.content_type);
  const json::value* media = content->get_object().if_contains(type);
  if (media == nullptr) {
    std::string list;
    for (const auto& kv : content->get_object())
      list += (list.empty() ? "" : ", ") + str(kv.key());
    fail("content type '" + r.content_type + "' is not documented (expected " + list + ")");
    return out;
  }
  if (!is_json_media(type)) return out;  // octet-stream, text: status and type only
  const auto* schema = media->is_object() ? media->get_object().if_contains("schema") : nullptr;
  boost::system::error_code ec;
  const auto body = json::parse(r.body, ec);
  if (ec) {
    fail("the body is not valid JSON: " + ec.message());
    return out;
  }
  if (schema == nullptr) return out;
  for (const auto& p : validate(body, *schema))
    fail(p);
  return out;
}

std::function<void(std::string_view, std::string_view, const client::http_response&)>
api_conformance::observer(const std::shared_ptr<api_conformance>& log) {
  std::weak_ptr<api_conformance> weak = log;
  return [weak](std::string_view method, std::string_view target, const client::http_response& r) {
    if (auto l = weak.lock()) l->record(method, target, r);
  };
}

void api_conformance::record(std::string_view method, std::string_view target,
                             const client::http_response& r) {
  {
    const std::lock_guard lock(mutex_);
    if (suspended_ > 0) return;
  }
  auto problems = validator_.check(method, target, r);
  const std::lock_guard lock(mutex_);
  ++checked_;
  for (auto& p : problems)
    violations_.push_back(std::move(p));
}

std::vector<std::string> api_conformance::violations() const {
  const std::lock_guard lock(mutex_);
  return violations_;
}

std::size_t api_conformance::checked() const {
  const std::lock_guard lock(mutex_);
  return checked_;
}

void api_conformance::clear() {
  const std::lock_guard lock(mutex_);
  violations_.clear();
  checked_ = 0;
}

}  // namespace tender::test
