#include <tender/client/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/ssl.h>

#include <optional>

namespace tender::client {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_response_body = 64 * 1024 * 1024;

struct endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base_path;  // without trailing '/'
};

endpoint parse_server(const std::string& server) {
  auto parsed = boost::urls::parse_uri(server);
  if (!parsed) {
    throw error("client.bad_url",
                "server URL '" + server + "' is not a valid URL (expected http://host:port)");
  }
  const auto& u = *parsed;
  endpoint e;
  const std::string scheme(u.scheme());
  if (scheme == "https") {
    e.tls = true;
  } else if (scheme != "http") {
    throw error("client.bad_url",
                "server URL '" + server + "' must start with http:// or https://");
  }
  e.host = std::string(u.host_address());
  if (e.host.empty()) throw error("client.bad_url", "server URL '" + server + "' has no host");
  e.port = u.has_port() ? std::string(u.port()) : (e.tls ? "443" : "80");
  e.base_path = std::string(u.encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/')
    e.base_path.pop_back();
  return e;
}

// The message of a JSON error body, or the raw body when it is not one.
std::pair<std::string, std::string> error_of(const http_response& r) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (const auto* e = v.get_object().if_contains("error"); e != nullptr && e->is_object()) {
      const auto* code = e->get_object().if_contains("code");
      const auto* message = e->get_object().if_contains("message");
      if (code != nullptr && code->is_string() && message != nullptr && message->is_string()) {
        return {std::string(code->get_string()), std::string(message->get_string())};
      }
    }
  }
  return {"client.bad_response", "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200)};
}

// Throws the server's error unless the answer is 200.
void expect_ok(const http_response& r) {
  if (r.status != 200) {
    auto [code, message] = error_of(r);
    throw error(code, message, r.status);
  }
}

// Parses a 200 answer with `parse`, turning a shape error into client.bad_response.
template <class Parse>
auto parsed(const http_response& r, std::string_view what, Parse parse) {
  expect_ok(r);
  try {
    return parse(r.body);
  } catch (const std::invalid_argument& e) {
    throw error("client.bad_response", "unexpected " + std::string(what) + " answer: " + e.what(),
                r.status);
  }
}

}  // namespace

struct client::impl {
  explicit impl(options o) : opts(std::move(o)), where(parse_server(opts.server)) {
    if (where.tls) {
      tls.emplace(ssl::context::tls_client);
      tls->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1);
      if (opts.insecure) {
        tls->set_verify_mode(ssl::verify_none);
      } else {
        tls->set_verify_mode(ssl::verify_peer);
        beast::error_code ec;
        if (opts.ca_file.empty()) {
          tls->set_default_verify_paths(ec);
        } else {
          tls->load_verify_file(opts.ca_file, ec);
        }
        if (ec) {
          throw error("client.tls_failed",
                      "cannot load CA file '" + opts.ca_file + "': " + ec.message());
        }
      }
    }
  }

  template <class Stream>
  asio::awaitable<http_response> exchange(Stream& stream, http::request<http::string_body>& req) {
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(opts.timeout);
    auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
    if (wec) throw transport("sending the request", wec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_body);
    // The answer to HEAD has the headers of a GET and no body, whatever Content-Length says.
    if (req.method() == http::verb::head) parser.skip(true);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rec) throw transport("reading the response", rec);
    auto& res = parser.get();
    http_response out;
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    for (const auto& f : res)
      out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      lowest.expires_after(std::chrono::seconds(2));
      auto [sec] = co_await stream.async_shutdown(use_tuple);
      (void)sec;  // many servers just close; the response is complete either way
    }
    co_return out;
  }

  error transport(const std::string& step, const beast::error_code& ec) const {
    if (ec == beast::error::timeout) {
      return error("client.timeout", "no answer from " + opts.server + " within " +
                                         std::to_string(opts.timeout.count()) + " ms (" + step +
                                         ")");
    }
    if (ec.category() == asio::error::get_ssl_category() || ec == ssl::error::stream_truncated) {
      return error("client.tls_failed",
                   "TLS with " + opts.server + " failed while " + step + ": " + ec.message());
    }
    return error("client.connect_failed",
                 "cannot reach " + opts.server + " (" + step + "): " + ec.message());
  }

  asio::awaitable<http_response> run(http::request<http::string_body> req) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(where.host, where.port, use_tuple);
    if (rec)
      throw error("client.connect_failed", "cannot resolve '" + where.host + "': " + rec.message());
    beast::tcp_stream tcp_stream(ex);
    tcp_stream.expires_after(opts.timeout);
    auto [cec, ep] = co_await tcp_stream.async_connect(results, use_tuple);
    if (cec) throw transport("connecting", cec);
    if (!where.tls) co_return co_await exchange(tcp_stream, req);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), where.host.c_str())) {
      throw error("client.tls_failed", "cannot set TLS server name '" + where.host + "'");
    }
    if (!opts.insecure) {
      stream.set_verify_callback(ssl::host_name_verification(where.host));
    }
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) throw transport("the TLS handshake", hec);
    co_return co_await exchange(stream, req);
  }

  options opts;
  std::string token;
  endpoint where;
  std::optional<ssl::context> tls;
};

client::client(options o) : impl_(std::make_unique<impl>(std::move(o))) {}
client::~client() = default;

void client::set_token(std::string token) {
  impl_->token = std::move(token);
}

const options& client::settings() const {
  return impl_->opts;
}

http_response client::request(std::string_view method, std::string_view target,
                              std::string_view body, std::string_view content_type) {
  return request(method, target, body, content_type, {});
}

std::string http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return {};
}

void expect_status(const http_response& r, unsigned expected) {
  if (r.status == expected) return;
  auto [code, message] = error_of(r);
  throw error(code, message, r.status);
}

http_response client::request(std::string_view method, std::string_view target,
                              std::string_view body, std::string_view content_type,
                              const header_list& extra_headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(impl_->where.base_path + std::string(target));
  req.version(11);
  req.set(http::field::host, impl_->where.host + ":" + impl_->where.port);
  req.set(http::field::user_agent, "tender-client-sdk");
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  if (!impl_->token.empty()) req.set(http::field::authorization, "Bearer " + impl_->token);
  for (const auto& [name, value] : extra_headers)
    req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.set(http::field::content_type, content_type);
    req.body() = std::string(body);
  }
  req.prepare_payload();
  asio::io_context ioc;
  auto result = asio::co_spawn(ioc, impl_->run(std::move(req)), asio::use_future);
  ioc.run();
  auto response = result.get();
  if (impl_->opts.on_response) impl_->opts.on_response(method, target, response);
  return response;
}

protocol::health client::health() {
  const auto r = request("GET", "/healthz");
  if (r.status != 200) {
    auto [code, message] = error_of(r);
    throw error(code, message, r.status);
  }
  try {
    return protocol::parse_health(r.body);
  } catch (const std::invalid_argument& e) {
    throw error("client.bad_response", std::string("unexpected /healthz answer: ") + e.what(),
                r.status);
  }
}

protocol::readiness client::readiness() {
  const auto r = request("GET", "/readyz");
  if (r.status != 200 && r.status != 503) {
    auto [code, message] = error_of(r);
    throw error(code, message, r.status);
  }
  try {
    return protocol::parse_readiness(r.body);
  } catch (const std::invalid_argument& e) {
    throw error("client.bad_response", std::string("unexpected /readyz answer: ") + e.what(),
                r.status);
  }
}

}  // namespace tender::client

namespace tender::client {

std::string client::log_checkpoint() {
  const auto r = request("GET", "/api/v1/log/checkpoint");
  expect_ok(r);
  return r.body;
}

std::string client::log_key() {
  const auto r = request("GET", "/api/v1/log/key");
  expect_ok(r);
  std::string key = r.body;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
    key.pop_back();
  return key;
}

protocol::audit::event_page client::log_events(std::uint64_t from, std::uint64_t limit) {
  const auto r = request(
      "GET", "/api/v1/log/events?from=" + std::to_string(from) + "&limit=" + std::to_string(limit));
  return parsed(r, "/api/v1/log/events", protocol::audit::parse_event_page);
}

protocol::audit::event_record client::log_event(std::uint64_t seq) {
  const auto r = request("GET", "/api/v1/log/events/" + std::to_string(seq));
  return parsed(r, "/api/v1/log/events/{seq}", protocol::audit::parse_event_record);
}

protocol::audit::inclusion_proof client::log_inclusion_proof(std::uint64_t index,
                                                             std::uint64_t size) {
  const auto r = request("GET", "/api/v1/log/proof/inclusion?index=" + std::to_string(index) +
                                    "&size=" + std::to_string(size));
  return parsed(r, "/api/v1/log/proof/inclusion", protocol::audit::parse_inclusion_proof);
}

protocol::audit::consistency_proof client::log_consistency_proof(std::uint64_t old_size,
                                                                 std::uint64_t new_size) {
  const auto r = request("GET", "/api/v1/log/proof/consistency?old=" + std::to_string(old_size) +
                                    "&new=" + std::to_string(new_size));
  return parsed(r, "/api/v1/log/proof/consistency", protocol::audit::parse_consistency_proof);
}

}  // namespace tender::client
