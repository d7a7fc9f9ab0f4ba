#pragma once

// A token bucket per key (a remote address): `per_minute` requests a minute, in bursts of up to
// `per_minute`. Thread-safe; memory stays bounded: keys whose bucket is full again are forgotten
// once the map holds many.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tender::app {

class rate_limiter {
public:
  explicit rate_limiter(unsigned per_minute) : per_minute_(std::max(1u, per_minute)) {}

  // Takes one request of `key`; false when its bucket is empty (the caller refuses it).
  bool take(const std::string& key) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (buckets_.size() >= forget_at) forget_full(now);
    auto [it, added] = buckets_.try_emplace(key, bucket{static_cast<double>(per_minute_), now});
    auto& b = it->second;
    b.tokens = level(b, now);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

private:
  struct bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  static constexpr std::size_t forget_at = 10000;

  double level(const bucket& b, std::chrono::steady_clock::time_point now) const {
    const std::chrono::duration<double> since = now - b.at;
    return std::min<double>(per_minute_, b.tokens + since.count() * per_minute_ / 60.0);
  }
  void forget_full(std::chrono::steady_clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      if (level(it->second, now) >= per_minute_)
        it = buckets_.erase(it);
      else
        ++it;
    }
  }

  unsigned per_minute_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace tender::app
