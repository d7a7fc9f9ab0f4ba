#include "session.hpp"

namespace tender::net::detail {

void start_plain_session(tcp::socket socket, std::shared_ptr<http_server::impl> server,
                         std::string address) {
  start_session(plain_stream(std::move(socket)), std::move(server), std::move(address));
}

}  // namespace tender::net::detail
