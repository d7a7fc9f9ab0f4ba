#pragma once

// One LISTEN connection on one channel, on a thread of its own, reconnecting after a loss: the
// shared mechanism under feed_listener and hall_listener. The callback gets each payload as
// sent, or nullopt right after every (re)connection (anything committed while nobody listened
// must be read again). It runs on the listener's thread and must be quick.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tender::db {

class channel_listener {
public:
  using callback = std::function<void(const std::optional<std::string>& payload)>;

  struct options {
    std::string conninfo;
    std::string channel;
    std::string name;  // for the log: "feed listener", "hall listener"
    std::chrono::milliseconds retry_interval{1000};
    // How long one wait for a notification lasts before the thread checks whether to stop.
    std::chrono::milliseconds poll_interval{500};
  };

  channel_listener(options opts, callback on_payload);
  ~channel_listener();  // stops
  channel_listener(const channel_listener&) = delete;
  channel_listener& operator=(const channel_listener&) = delete;

  void start();
  // Ends the thread; returns once it has (within about poll_interval).
  void stop();
  bool connected() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::db
