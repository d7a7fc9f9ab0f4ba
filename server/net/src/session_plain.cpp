#include "session.hpp"

namespace tender::net::detail {

void start_plain_session(tcp::socket socket, std::shared_ptr<http_server::impl> server) {
  start_session(plain_stream(std::move(socket)), std::move(server));
}

}  // namespace tender::net::detail
