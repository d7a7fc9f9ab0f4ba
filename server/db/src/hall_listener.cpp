#include <tender/db/hall_listener.hpp>

#include "channel_listener.hpp"

#include <charconv>
#include <utility>

namespace tender::db {

std::optional<hall_notification> hall_listener::parse(const std::string& payload) {
  const auto space = payload.find(' ');
  if (space == std::string::npos || space == 0) return std::nullopt;
  hall_notification n;
  n.tender_id = payload.substr(0, space);
  const char* begin = payload.data() + space + 1;
  const char* end = payload.data() + payload.size();
  const auto [p, ec] = std::from_chars(begin, end, n.seq);
  if (ec != std::errc() || p != end || begin == end || n.seq < 0) return std::nullopt;
  return n;
}

struct hall_listener::impl {
  impl(options o, callback cb)
      : listener({std::move(o.conninfo), hall_notify_channel, "hall listener", o.retry_interval,
                  o.poll_interval},
                 [cb = std::move(cb)](const std::optional<std::string>& payload) {
                   cb(payload ? hall_listener::parse(*payload) : std::nullopt);
                 }) {}
  channel_listener listener;
};

hall_listener::hall_listener(options opts, callback on_event)
    : impl_(std::make_shared<impl>(std::move(opts), std::move(on_event))) {}

hall_listener::~hall_listener() {
  stop();
}

void hall_listener::start() {
  impl_->listener.start();
}

void hall_listener::stop() {
  impl_->listener.stop();
}

bool hall_listener::connected() const {
  return impl_->listener.connected();
}

}  // namespace tender::db
