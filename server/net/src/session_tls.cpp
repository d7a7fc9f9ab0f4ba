#include "session.hpp"

namespace tender::net::detail {

void start_tls_session(tcp::socket socket, std::shared_ptr<http_server::impl> server,
                       std::string address) {
  auto& context = *server->tls_;
  start_session(tls_stream(std::move(socket), context), std::move(server), std::move(address));
}

}  // namespace tender::net::detail
