#pragma once

// Private to tender::net: the server's shared state and the entry points of the session code.

#include <tender/net/server.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace tender::net {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace detail {

// Anything that must be told when the server stops. shutdown() may be called from any thread.
class session_base {
public:
  virtual ~session_base() = default;
  virtual void shutdown() = 0;
};

void log_exception(const std::exception_ptr& e);

// Serve one accepted connection. The session templates are instantiated once per stream type,
// each in its own translation unit (session_plain.cpp, session_tls.cpp), so that the heavy Beast
// instantiations compile in parallel and a change to one does not rebuild the other.
// `address`: the remote address admitted for it (http_server::impl::admit), released when the
// session ends.
void start_plain_session(tcp::socket socket, std::shared_ptr<http_server::impl> server,
                         std::string address);
void start_tls_session(tcp::socket socket, std::shared_ptr<http_server::impl> server,
                       std::string address);

}  // namespace detail

struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ioc, server_options o, std::shared_ptr<const router> r)
      : ioc_(ioc), opts_(std::move(o)), routes_(std::move(r)), acceptor_(ioc) {}

  std::uint64_t add_session(std::weak_ptr<detail::session_base> s) {
    std::lock_guard lock(mutex_);
    const auto id = ++next_id_;
    sessions_.emplace(id, std::move(s));
    return id;
  }
  void remove_session(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
  }
  std::size_t session_count() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

  // Counts a new connection from `address` unless that address already holds
  // max_connections_per_address; counted in the accept loop itself, so a burst of connects cannot
  // slip past the limit before their sessions start.
  bool admit(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto& n = per_address_[address];
    if (n >= opts_.max_connections_per_address) return false;
    ++n;
    return true;
  }
  void release(const std::string& address) {
    std::lock_guard lock(mutex_);
    const auto it = per_address_.find(address);
    if (it == per_address_.end()) return;
    if (--it->second == 0) per_address_.erase(it);
  }

  asio::awaitable<void> accept_loop();

  asio::io_context& ioc_;
  server_options opts_;
  std::shared_ptr<const router> routes_;
  std::optional<ssl::context> tls_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint16_t> port_{0};
  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::weak_ptr<detail::session_base>> sessions_;
  std::map<std::string, std::size_t> per_address_;  // live connections per remote address
  std::uint64_t next_id_ = 0;
  std::promise<void> accept_done_;
};

}  // namespace tender::net
