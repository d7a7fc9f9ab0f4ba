#include "server_impl.hpp"

#include <tender/protocol/errors.hpp>

#include <tender/core/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <thread>

namespace tender::net {
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Refuses a new connection politely without reading: the answer fits in the socket buffer.
void refuse(auto& socket, protocol::errc code, const std::string& message, int retry_after) {
  const std::string body = protocol::error_body(code, message);
  const auto status = protocol::http_status(code);
  const std::string raw = "HTTP/1.1 " + std::to_string(status) +
                          (status == 429 ? " Too Many Requests" : " Service Unavailable") +
                          "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                          "Tender-Error-Code: " +
                          std::string(protocol::error_code_name(code)) +
                          "\r\nRetry-After: " + std::to_string(retry_after) +
                          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(raw), ignored);
  socket.close(ignored);
}

}  // namespace

namespace detail {

void log_exception(const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    core::log::error("connection failed", {{"error", ex.what()}});
  }
}

}  // namespace detail

using detail::log_exception;

asio::awaitable<void> http_server::impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), use_tuple);
    if (stopping_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      core::log::warn("accept failed", {{"error", ec.message()}});
      // Out of file descriptors and the like: back off instead of spinning.
      asio::steady_timer pause(ioc_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (session_count() >= opts_.max_connections) {
      refuse(socket, protocol::errc::overloaded, "too many connections, retry later", 1);
      continue;
    }
    boost::system::error_code aec;
    auto address = socket.remote_endpoint(aec).address().to_string();
    if (aec) {
      // Gone before we looked.
      socket.close(aec);
      continue;
    }
    if (!admit(address)) {
      refuse(socket, protocol::errc::too_many_connections,
             "too many connections from " + address + " (at most " +
                 std::to_string(opts_.max_connections_per_address) + " at once)",
             5);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls_) {
      detail::start_tls_session(std::move(socket), self, std::move(address));
    } else {
      detail::start_plain_session(std::move(socket), self, std::move(address));
    }
  }
}

http_server::http_server(asio::io_context& ioc, server_options opts,
                         std::shared_ptr<const router> routes)
    : impl_(std::make_shared<impl>(ioc, std::move(opts), std::move(routes))) {}

http_server::~http_server() = default;

void http_server::start() {
  auto& o = impl_->opts_;
  if (!o.tls_certificate_file.empty()) {
    impl_->tls_.emplace(ssl::context::tls_server);
    auto& ctx = *impl_->tls_;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(o.tls_certificate_file, ec);
    if (ec) {
      throw std::runtime_error("cannot load TLS certificate chain '" + o.tls_certificate_file +
                               "': " + ec.message());
    }
    ctx.use_private_key_file(o.tls_private_key_file, ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("cannot load TLS private key '" + o.tls_private_key_file +
                               "': " + ec.message());
    }
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(o.address, ec);
  if (ec) throw std::runtime_error("listen.address '" + o.address + "' is not an IP address");
  const tcp::endpoint endpoint(address, o.port);
  auto& acc = impl_->acceptor_;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " +
                             ec.message());
  }
  impl_->port_ = acc.local_endpoint().port();
  auto self = impl_;
  asio::co_spawn(acc.get_executor(), self->accept_loop(), [self](const std::exception_ptr& e) {
    log_exception(e);
    self->accept_done_.set_value();
  });
}

std::uint16_t http_server::port() const {
  return impl_->port_;
}

std::size_t http_server::connections() const {
  return impl_->session_count();
}

void http_server::stop(std::chrono::steady_clock::time_point deadline) {
  auto self = impl_;
  if (self->stopping_.exchange(true)) return;
  asio::post(self->acceptor_.get_executor(), [self] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
  std::vector<std::shared_ptr<detail::session_base>> live;
  {
    std::lock_guard lock(self->mutex_);
    for (auto& [id, weak] : self->sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live)
    s->shutdown();
  live.clear();
  while (self->session_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (const auto left = self->session_count(); left > 0) {
    core::log::warn("connections still open at shutdown deadline", {{"connections", left}});
  }
}

}  // namespace tender::net
