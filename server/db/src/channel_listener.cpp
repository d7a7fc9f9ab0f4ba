#include "channel_listener.hpp"

#include "pool.hpp"

#include <tender/core/log.hpp>

#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace tender::db {
namespace {

class receiver final : public pqxx::notification_receiver {
public:
  receiver(pqxx::connection_base& c, const std::string& channel,
           const channel_listener::callback& cb)
      : pqxx::notification_receiver(c, channel), cb_(cb) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    cb_(std::optional<std::string>(payload));
  }

private:
  const channel_listener::callback& cb_;
};

}  // namespace

struct channel_listener::impl {
  options opts;
  callback cb;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<bool> stopping{false};
  std::atomic<bool> up{false};

  // Sleeps up to `d` unless stop() is called meanwhile; false when stopping.
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
        receiver r(c, opts.channel, cb);
        // LISTEN is sent by the receiver's constructor; from now on nothing is missed, but
        // anything committed while we were not listening must be read again.
        up = true;
        if (logged_down) core::log::info(opts.name + " reconnected");
        logged_down = false;
        cb(std::nullopt);
        const auto poll = opts.poll_interval.count();
        while (!stopping) {
          c.await_notification(static_cast<long>(poll / 1000),
                               static_cast<long>(poll % 1000) * 1000);
          // libpq may just mark the connection bad instead of making libpqxx throw.
          if (!c.is_open()) throw std::runtime_error("the LISTEN connection was closed");
        }
        up = false;
        return;
      } catch (const std::exception& e) {
        up = false;
        if (!logged_down) {
          core::log::warn(opts.name + " lost its connection; retrying",
                          {{"error", one_line(e.what())}});
          logged_down = true;
        }
      }
      if (!pause(opts.retry_interval)) return;
    }
  }
};

channel_listener::channel_listener(options opts, callback on_payload)
    : impl_(std::make_shared<impl>()) {
  impl_->opts = std::move(opts);
  impl_->cb = std::move(on_payload);
}

channel_listener::~channel_listener() {
  stop();
}

void channel_listener::start() {
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([i = impl_] { i->run(); });
}

void channel_listener::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool channel_listener::connected() const {
  return impl_->up;
}

}  // namespace tender::db
