#include <tender/core/config.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace tender::core {
namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return std::string(s.substr(first, last - first + 1));
}

std::uint64_t parse_unsigned(const std::string& key, const std::string& value, std::uint64_t min,
                             std::uint64_t max) {
  std::uint64_t out = 0;
  const auto* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, out);
  if (ec != std::errc() || ptr != end || value.empty()) {
    throw config_error("'" + key + "' must be a whole number, got '" + value + "'");
  }
  if (out < min || out > max) {
    throw config_error("'" + key + "' must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + ", got " + value);
  }
  return out;
}

std::string one_of(const std::string& key, const std::string& value,
                   std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return value;
  }
  std::string list;
  for (const char* a : allowed)
    list += std::string(list.empty() ? "" : ", ") + a;
  throw config_error("'" + key + "' must be one of " + list + ", got '" + value + "'");
}

bool parse_bool(const std::string& key, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  throw config_error("'" + key + "' must be true or false, got '" + value + "'");
}

// The log name ends up in the checkpoint origin and usually in the signing key's name, where
// spaces, '+' and control characters are not allowed; a conservative alphabet keeps it readable.
std::string log_name(const std::string& key, const std::string& value) {
  const bool ok =
      !value.empty() && value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '.' || ch == '-' ||
               ch == '_' || ch == '/';
      });
  if (!ok) {
    throw config_error("'" + key +
                       "' must be 1 to 64 characters of letters, digits, '.', '-', '_' and '/', "
                       "got '" +
                       value + "'");
  }
  return value;
}

// One entry per key: how to store a textual value into the config.
struct key_setter {
  const char* key;
  void (*set)(config&, const std::string& key, const std::string& value);
};

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t gib = 1024 * 1024 * 1024;

const key_setter
    setters[] =
        {
            {"listen.address",
             [](config& c, const std::string&, const std::string& v) { c.listen_address = v; }},
            {"listen.port",
             [](config& c, const std::string& k, const std::string& v) {
               c.listen_port = static_cast<std::uint16_t>(parse_unsigned(k, v, 0, 65535));
             }},
            {"tls.certificate",
             [](config& c, const std::string&, const std::string& v) { c.tls_certificate = v; }},
            {"tls.private_key",
             [](config& c, const std::string&, const std::string& v) { c.tls_private_key = v; }},
            {"database.conninfo",
             [](config& c, const std::string&, const std::string& v) { c.database_conninfo = v; }},
            {"database.pool_size",
             [](config& c, const std::string& k, const std::string& v) {
               c.database_pool_size = static_cast<unsigned>(parse_unsigned(k, v, 1, 256));
             }},
            {"database.priority_pool_size",
             [](config& c, const std::string& k, const std::string& v) {
               c.database_priority_pool_size = static_cast<unsigned>(parse_unsigned(k, v, 0, 64));
             }},
            {"database.retry_interval_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.database_retry_interval =
                   std::chrono::milliseconds(parse_unsigned(k, v, 50, 60000));
             }},
            {"io.threads",
             [](config& c, const std::string& k, const std::string& v) {
               c.io_threads = static_cast<unsigned>(parse_unsigned(k, v, 1, 256));
             }},
            {"limits.header_bytes",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_header_bytes = parse_unsigned(k, v, 1 * kib, 1024 * kib);
             }},
            {"limits.body_bytes",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_body_bytes = parse_unsigned(k, v, 1 * kib, 64 * gib);
             }},
            {"limits.connections",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_connections = parse_unsigned(k, v, 1, 1000000);
             }},
            {"limits.connections_per_address",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_connections_per_address = parse_unsigned(k, v, 1, 1000000);
             }},
            {"limits.websocket_queue_bytes",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_websocket_queue_bytes = parse_unsigned(k, v, 64 * kib, 4 * gib);
             }},
            {"limits.challenges_per_minute",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_challenges_per_minute =
                   static_cast<unsigned>(parse_unsigned(k, v, 1, 1000000));
             }},
            {"limits.websocket_message_bytes",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_websocket_message_bytes = parse_unsigned(k, v, 1 * kib, 64 * 1024 * kib);
             }},
            {"limits.websocket_queue_messages",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_websocket_queue_messages = parse_unsigned(k, v, 1, 1000000);
             }},
            {"limits.read_timeout_seconds",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_read_timeout = std::chrono::seconds(parse_unsigned(k, v, 1, 3600));
             }},
            {"limits.idle_timeout_seconds",
             [](config& c, const std::string& k, const std::string& v) {
               c.limits_idle_timeout = std::chrono::seconds(parse_unsigned(k, v, 1, 86400));
             }},
            {"shutdown.grace_seconds",
             [](config& c, const std::string& k, const std::string& v) {
               c.shutdown_grace = std::chrono::seconds(parse_unsigned(k, v, 1, 600));
             }},
            {"log.level",
             [](config& c, const std::string& k, const std::string& v) {
               c.log_level = one_of(k, v, {"debug", "info", "warn", "error"});
             }},
            {"mode",
             [](config& c, const std::string& k, const std::string& v) {
               c.mode = one_of(k, v, {"development", "production"});
             }},
            {"audit.signing_key_file", [](config& c, const std::string&,
                                          const std::string& v) { c.audit_signing_key_file = v; }},
            {"audit.log_name", [](config& c, const std::string& k,
                                  const std::string& v) { c.audit_log_name = log_name(k, v); }},
            {"audit.checkpoint_interval_seconds",
             [](config& c, const std::string& k, const std::string& v) {
               c.audit_checkpoint_interval = std::chrono::seconds(parse_unsigned(k, v, 1, 86400));
             }},
            {"identity.ca_roots_file", [](config& c, const std::string&,
                                          const std::string& v) { c.identity_ca_roots_file = v; }},
            {"identity.crl_dir", [](config& c, const std::string&,
                                    const std::string& v) { c.identity_crl_dir = v; }},
            {"scheduler.enabled",
             [](config& c, const std::string& k, const std::string& v) {
               c.scheduler_enabled = parse_bool(k, v);
             }},
            {"scheduler.poll_interval_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.scheduler_poll_interval =
                   std::chrono::milliseconds(parse_unsigned(k, v, 10, 60000));
             }},
            {"storage.data_dir",
             [](config& c, const std::string& k, const std::string& v) {
               if (v.empty()) throw config_error("'" + k + "' must not be empty");
               c.storage_data_dir = v;
             }},
            {"submission.max_upload_bytes",
             [](config& c, const std::string& k, const std::string& v) {
               c.submission_max_upload_bytes = parse_unsigned(k, v, 1024, 1024 * gib);
             }},
            {"submission.bidder_quota_bytes",
             [](config& c, const std::string& k, const std::string& v) {
               c.submission_bidder_quota_bytes = parse_unsigned(k, v, 1024, 4096 * gib);
             }},
            {"submission.tender_quota_bytes",
             [](config& c, const std::string& k, const std::string& v) {
               c.submission_tender_quota_bytes = parse_unsigned(k, v, 1024, 4096 * gib);
             }},
            {"submission.hold_verification_while",
             [](config& c, const std::string&, const std::string& v) {
               c.submission_hold_verification_while = v;
             }},
            {"guarantee.status_timeout_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.guarantee_status_timeout =
                   std::chrono::milliseconds(parse_unsigned(k, v, 100, 120000));
             }},
            {"hall.heartbeat_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_heartbeat = std::chrono::milliseconds(parse_unsigned(k, v, 100, 60000));
             }},
            {"hall.outage_threshold_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_outage_threshold =
                   std::chrono::milliseconds(parse_unsigned(k, v, 500, 600000));
             }},
            {"hall.decrypt_timeout_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_decrypt_timeout =
                   std::chrono::milliseconds(parse_unsigned(k, v, 100, 86400000));
             }},
            {"hall.decrypt_threads",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_decrypt_threads = static_cast<unsigned>(parse_unsigned(k, v, 1, 64));
             }},
            {"hall.hub_idle_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_hub_idle = std::chrono::milliseconds(parse_unsigned(k, v, 1000, 86400000));
             }},
            {"hall.session_recheck_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_session_recheck =
                   std::chrono::milliseconds(parse_unsigned(k, v, 100, 3600000));
              }},
            {"hall.hello_timeout_ms",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_hello_timeout = std::chrono::milliseconds(parse_unsigned(k, v, 100, 600000));
             }},
            {"hall.connections_per_user",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_connections_per_user = parse_unsigned(k, v, 1, 100000);
             }},
            {"hall.reserved_connections",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_reserved_connections = parse_unsigned(k, v, 0, 1000000);
             }},
            {"hall.ids_per_connection",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_ids_per_connection = parse_unsigned(k, v, 16, 1000000);
             }},
            {"hall.act_rate",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_act_rate = static_cast<unsigned>(parse_unsigned(k, v, 1, 100000));
             }},
            {"hall.act_burst",
             [](config& c, const std::string& k, const std::string& v) {
               c.hall_act_burst = static_cast<unsigned>(parse_unsigned(k, v, 1, 100000));
             }},
};

const key_setter* find_setter(const std::string& key) {
  for (const auto& s : setters) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

}  // namespace

std::string env_name_for(const std::string& key) {
  std::string out = "TENDERD_";
  for (char ch : key) {
    out.push_back(ch == '.' ? '_'
                            : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  }
  return out;
}

env_lookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

config parse_config(const std::string& text, const std::string& origin, const env_lookup& env) {
  config c;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  std::vector<std::string> seen;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = origin + ":" + std::to_string(number) + ": ";
    const std::string body = trim(line.substr(0, line.find('#')));
    if (body.empty()) continue;
    const auto eq = body.find('=');
    if (eq == std::string::npos) {
      throw config_error(where + "expected 'key = value', got '" + body + "'");
    }
    const std::string key = trim(std::string_view(body).substr(0, eq));
    const std::string value = trim(std::string_view(body).substr(eq + 1));
    const key_setter* setter = find_setter(key);
    if (setter == nullptr) throw config_error(where + "unknown key '" + key + "'");
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      throw config_error(where + "key '" + key + "' is set twice");
    }
    seen.push_back(key);
    try {
      setter->set(c, key, value);
    } catch (const config_error& e) {
      throw config_error(where + e.what());
    }
  }
  for (const auto& s : setters) {
    const std::string name = env_name_for(s.key);
    if (auto v = env(name)) {
      try {
        s.set(c, s.key, trim(*v));
      } catch (const config_error& e) {
        throw config_error("environment " + name + ": " + e.what());
      }
    }
  }
  if (c.tls_certificate.empty() != c.tls_private_key.empty()) {
    throw config_error("tls.certificate and tls.private_key must be set together");
  }
  return c;
}

config load_config(const std::optional<std::string>& path, const env_lookup& env) {
  if (!path) return parse_config("", "(defaults)", env);
  std::ifstream file(*path);
  if (!file) throw config_error("cannot read configuration file '" + *path + "'");
  std::ostringstream text;
  text << file.rdbuf();
  if (text.str().size() > 1024 * 1024) {
    throw config_error("configuration file '" + *path + "' is larger than 1 MiB");
  }
  return parse_config(text.str(), *path, env);
}

namespace {

constexpr std::string_view redacted = "(redacted)";

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// postgresql://[userspec@][hostspec][/dbname][?paramspec]: the password is after the first ':'
// of the userspec (before the last '@' of the authority) and in any `password=` parameter.
std::string redact_uri(std::string_view uri) {
  const auto scheme_end = uri.find("://") + 3;
  const auto authority_end = uri.find_first_of("/?", scheme_end);
  const auto authority = uri.substr(
      scheme_end,
      (authority_end == std::string_view::npos ? uri.size() : authority_end) - scheme_end);
  std::string out(uri.substr(0, scheme_end));
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const auto user = authority.substr(0, at);
    const auto colon = user.find(':');
    out += colon == std::string_view::npos
               ? std::string(user)
               : std::string(user.substr(0, colon + 1)) + std::string(redacted);
    out += authority.substr(at);
  } else {
    out += authority;
  }
  if (authority_end == std::string_view::npos) return out;
  const auto query = uri.find('?', authority_end);
  out += uri.substr(authority_end,
                    (query == std::string_view::npos ? uri.size() : query) - authority_end);
  if (query == std::string_view::npos) return out;
  out += '?';
  auto rest = uri.substr(query + 1);
  bool first = true;
  while (true) {
    const auto amp = rest.find('&');
    const auto param = rest.substr(0, amp);
    if (!first) out += '&';
    first = false;
    if (starts_with_nocase(param, "password=")) {
      out += "password=";
      out += redacted;
    } else {
      out += param;
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

// key = value words; a value is a run of non-blank characters or a single-quoted string in which
// a backslash escapes the next character.
std::optional<std::string> redact_words(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  auto blank = [&](std::size_t k) {
    return k < s.size() && std::isspace(static_cast<unsigned char>(s[k]));
  };
  while (true) {
    while (blank(i))
      ++i;
    if (i >= s.size()) return out;
    const auto key_start = i;
    while (i < s.size() && s[i] != '=' && !blank(i))
      ++i;
    const auto key = s.substr(key_start, i - key_start);
    while (blank(i))
      ++i;
    if (i >= s.size() || s[i] != '=' || key.empty()) return std::nullopt;
    ++i;
    while (blank(i))
      ++i;
    const auto value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'')
        i += s[i] == '\\' ? 2 : 1;
      if (i >= s.size()) return std::nullopt;
      ++i;
    } else {
      while (i < s.size() && !blank(i))
        ++i;
    }
    if (!out.empty()) out += ' ';
    out += key;
    out += '=';
    if (key == "password") {
      out += redacted;
    } else {
      out += s.substr(value_start, i - value_start);
    }
  }
}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) {
  if (starts_with_nocase(conninfo, "postgresql://") ||
      starts_with_nocase(conninfo, "postgres://")) {
    return redact_uri(conninfo);
  }
  if (auto words = redact_words(conninfo)) return *words;
  return std::string(redacted);
}

std::map<std::string, std::string> describe(const config& c) {
  // The conninfo may hold a password: show it with every password redacted.
  const auto conn = redact_conninfo(c.database_conninfo);
  return {
      {"listen.address", c.listen_address},
      {"listen.port", std::to_string(c.listen_port)},
      {"tls", c.tls_enabled() ? "on" : "off"},
      {"database.conninfo", conn},
      {"database.pool_size", std::to_string(c.database_pool_size)},
      {"database.priority_pool_size", std::to_string(c.database_priority_pool_size)},
      {"io.threads", std::to_string(c.io_threads)},
      {"limits.header_bytes", std::to_string(c.limits_header_bytes)},
      {"limits.body_bytes", std::to_string(c.limits_body_bytes)},
      {"limits.connections", std::to_string(c.limits_connections)},
      {"limits.connections_per_address", std::to_string(c.limits_connections_per_address)},
      {"limits.websocket_queue_bytes", std::to_string(c.limits_websocket_queue_bytes)},
      {"limits.challenges_per_minute", std::to_string(c.limits_challenges_per_minute)},
      {"shutdown.grace_seconds", std::to_string(c.shutdown_grace.count())},
      {"mode", c.mode},
      {"audit.signing_key_file",
       c.audit_signing_key_file.empty() ? "(none)" : c.audit_signing_key_file},
      {"audit.log_name", c.audit_log_name},
      {"audit.checkpoint_interval_seconds", std::to_string(c.audit_checkpoint_interval.count())},
      {"identity.ca_roots_file",
       c.identity_ca_roots_file.empty() ? "(none)" : c.identity_ca_roots_file},
      {"identity.crl_dir", c.identity_crl_dir.empty() ? "(none)" : c.identity_crl_dir},
      {"scheduler.enabled", c.scheduler_enabled ? "true" : "false"},
      {"scheduler.poll_interval_ms", std::to_string(c.scheduler_poll_interval.count())},
      {"storage.data_dir", c.storage_data_dir},
      {"submission.max_upload_bytes", std::to_string(c.submission_max_upload_bytes)},
      {"submission.bidder_quota_bytes", std::to_string(c.submission_bidder_quota_bytes)},
      {"submission.tender_quota_bytes", std::to_string(c.submission_tender_quota_bytes)},
      {"submission.hold_verification_while", c.submission_hold_verification_while.empty()
                                                 ? "(none)"
                                                 : c.submission_hold_verification_while},
      {"guarantee.status_timeout_ms", std::to_string(c.guarantee_status_timeout.count())},
      {"hall.heartbeat_ms", std::to_string(c.hall_heartbeat.count())},
      {"hall.outage_threshold_ms", std::to_string(c.hall_outage_threshold.count())},
      {"hall.decrypt_timeout_ms", std::to_string(c.hall_decrypt_timeout.count())},
      {"hall.decrypt_threads", std::to_string(c.hall_decrypt_threads)},
      {"hall.hub_idle_ms", std::to_string(c.hall_hub_idle.count())},
      {"hall.session_recheck_ms", std::to_string(c.hall_session_recheck.count())},
      {"hall.hello_timeout_ms", std::to_string(c.hall_hello_timeout.count())},
      {"hall.connections_per_user", std::to_string(c.hall_connections_per_user)},
      {"hall.reserved_connections", std::to_string(c.hall_reserved_connections)},
      {"hall.ids_per_connection", std::to_string(c.hall_ids_per_connection)},
      {"hall.act_rate", std::to_string(c.hall_act_rate)},
      {"hall.act_burst", std::to_string(c.hall_act_burst)},
  };
}

}  // namespace tender::core
