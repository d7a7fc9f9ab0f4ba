#include <tender/db/hall_listener.hpp>

#include <tender/core/log.hpp>

#include <pqxx/pqxx>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace tender::db {
namespace {

std::string first_line(std::string s) {
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

class receiver final : public pqxx::notification_receiver {
public:
  receiver(pqxx::connection_base& c, const hall_listener::callback& cb)
      : pqxx::notification_receiver(c, hall_notify_channel), cb_(cb) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    cb_(hall_listener::parse(payload));
  }

private:
  const hall_listener::callback& cb_;
};

}  // namespace

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
  options opts;
  callback cb;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<bool> stopping{false};
  std::atomic<bool> up{false};

  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, d, [this] { return stopping.load(); });
    return !stopping;
  }

  void run() {
    bool logged_down = false;
    while (!stopping) {
      try {
        pqxx::connection c(opts.conninfo);
        receiver r(c, cb);
        up = true;
        if (logged_down) core::log::info("hall listener reconnected");
        logged_down = false;
        // Anything committed while nobody listened must be read again.
        cb(std::nullopt);
        const auto poll = opts.poll_interval.count();
        while (!stopping) {
          c.await_notification(static_cast<long>(poll / 1000),
                               static_cast<long>(poll % 1000) * 1000);
          if (!c.is_open()) throw std::runtime_error("the LISTEN connection was closed");
        }
        up = false;
        return;
      } catch (const std::exception& e) {
        up = false;
        if (!logged_down) {
          core::log::warn("hall listener lost its connection; retrying",
                          {{"error", first_line(e.what())}});
          logged_down = true;
        }
      }
      if (!pause(opts.retry_interval)) return;
    }
  }
};

hall_listener::hall_listener(options opts, callback on_event) : impl_(std::make_shared<impl>()) {
  impl_->opts = std::move(opts);
  impl_->cb = std::move(on_event);
}

hall_listener::~hall_listener() {
  stop();
}

void hall_listener::start() {
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([i = impl_] { i->run(); });
}

void hall_listener::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool hall_listener::connected() const {
  return impl_->up;
}

}  // namespace tender::db
