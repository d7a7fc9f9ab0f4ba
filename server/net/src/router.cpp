#include <tender/net/http.hpp>

#include <algorithm>
#include <cctype>

namespace tender::net {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const auto end = path.find('/', i);
    const auto stop = end == std::string_view::npos ? path.size() : end;
    parts.push_back(path.substr(i, stop - i));
    i = stop;
  }
  return parts;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<std::string_view> request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

response response::json(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response response::html(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Security-Policy", std::string(page_security_policy));
  r.headers.emplace_back("Referrer-Policy",
                         "no-referrer");  // a hall page's fragment may hold a token
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

response response::error(protocol::errc code, std::string_view message) {
  return error(protocol::http_status(code), protocol::error_code_name(code), message);
}

// The code is also a header, so that the answer to a HEAD request (which has no body) still
// names it.
response response::error(unsigned status, std::string_view code, std::string_view message) {
  auto r = json(status, protocol::error_body(code, message));
  r.headers.emplace_back("Tender-Error-Code", std::string(code));
  return r;
}

router::router() : router(options{}) {}
router::router(options o) : opts_(o) {}

void router::add(std::string method, std::string path, handler h,
                 std::optional<std::size_t> body_limit) {
  route r;
  r.method = std::move(method);
  for (auto part : split_path(path))
    r.segments.emplace_back(part);
  r.target = std::move(h);
  r.body_limit = body_limit.value_or(opts_.default_body_limit);
  routes_.push_back(std::move(r));
}

void router::add_stream(std::string method, std::string path, stream_handler h,
                        std::size_t body_limit) {
  route r;
  r.method = std::move(method);
  for (auto part : split_path(path))
    r.segments.emplace_back(part);
  r.stream = std::move(h);
  r.body_limit = body_limit;
  routes_.push_back(std::move(r));
}

void router::add_websocket(std::string path, ws_handler h) {
  route r;
  r.method = "GET";
  for (auto part : split_path(path))
    r.segments.emplace_back(part);
  r.websocket = std::move(h);
  r.is_websocket = true;
  routes_.push_back(std::move(r));
}

bool router::match_segments(const route& r, const std::vector<std::string_view>& parts,
                            std::map<std::string, std::string>& params) {
  if (r.segments.size() != parts.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& seg = r.segments[i];
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      if (parts[i].empty()) return false;
      found[seg.substr(1, seg.size() - 2)] = std::string(parts[i]);
    } else if (seg != parts[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

router::match_result router::match(std::string_view method, std::string_view path) const {
  match_result result;
  const auto parts = split_path(path);
  std::string allow;
  for (const auto& r : routes_) {
    if (r.is_websocket) continue;
    std::map<std::string, std::string> params;
    if (!match_segments(r, parts, params)) continue;
    if (r.method == method) {
      if (r.stream) {
        result.stream = &r.stream;
      } else {
        result.target = &r.target;
      }
      result.body_limit = r.body_limit;
      result.params = std::move(params);
      return result;
    }
    if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method;
  }
  if (allow.empty()) {
    // A path that exists only as a WebSocket endpoint answers plain HTTP with 405 too.
    for (const auto& r : routes_) {
      std::map<std::string, std::string> params;
      if (r.is_websocket && match_segments(r, parts, params)) allow = "GET (WebSocket upgrade)";
    }
  }
  if (allow.empty()) {
    result.error = protocol::errc::not_found;
  } else {
    result.error = protocol::errc::method_not_allowed;
    result.allow = allow;
  }
  return result;
}

router::match_result router::match_websocket(std::string_view path) const {
  match_result result;
  const auto parts = split_path(path);
  for (const auto& r : routes_) {
    if (!r.is_websocket) continue;
    std::map<std::string, std::string> params;
    if (match_segments(r, parts, params)) {
      result.websocket = &r.websocket;
      result.params = std::move(params);
      return result;
    }
  }
  result.error = protocol::errc::not_found;
  return result;
}

}  // namespace tender::net
