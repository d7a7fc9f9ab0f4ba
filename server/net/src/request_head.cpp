#include <tender/net/request_head.hpp>

namespace tender::net {

request request_from_header(const boost::beast::http::request_header<>& header,
                            std::string remote_address) {
  request req;
  const std::string target(header.target());
  const auto qpos = target.find('?');
  req.method = std::string(header.method_string());
  req.target = target;
  req.path = target.substr(0, qpos);
  req.query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
  req.remote_address = std::move(remote_address);
  for (const auto& field : header) {
    req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return req;
}

std::optional<std::string> target_refusal(const request& req) {
  if (req.path.empty() || req.path.front() != '/') {
    return "request target must be an absolute path";
  }
  return std::nullopt;
}

}  // namespace tender::net
