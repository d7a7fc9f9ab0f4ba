#pragma once

// LISTEN on the hall channel (NOTIFY tenderhall_hall '<tender_id> <seq>', sent by every hall
// change at commit). One connection and one thread per process; the callback tells which hall
// moved. Hubs always read the events from the table, so a lost notification costs latency only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tender::db {

inline constexpr const char* hall_notify_channel = "tenderhall_hall";

struct hall_notification {
  std::string tender_id;
  std::int64_t seq = 0;
};

class hall_listener {
public:
  // nullopt: (re)connected or a payload it cannot read; every hall should look again. Runs on the
  // listener's thread and must be quick (post work elsewhere).
  using callback = std::function<void(std::optional<hall_notification>)>;

  struct options {
    std::string conninfo;
    std::chrono::milliseconds retry_interval{1000};
    // How long one wait for a notification lasts before the thread checks whether to stop.
    std::chrono::milliseconds poll_interval{500};
  };

  hall_listener(options opts, callback on_event);
  ~hall_listener();  // stops
  hall_listener(const hall_listener&) = delete;
  hall_listener& operator=(const hall_listener&) = delete;

  void start();
  // Ends the thread; returns once it has (within about poll_interval).
  void stop();
  bool connected() const;

  // Reads "<tender_id> <seq>"; nullopt when malformed.
  static std::optional<hall_notification> parse(const std::string& payload);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::db
