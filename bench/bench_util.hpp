#pragma once

// Small helpers shared by the hall benches (hall_load_bench, hall_opening_bench): event times,
// a latency histogram that many threads fill without locks, and the CPU time and peak RSS of a
// process read from /proc.

#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// Microseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.ffffffZ" (any number of fraction digits).
inline std::int64_t micros_of(std::string_view s) {
  std::tm tm{};
  if (s.size() < 20) return 0;
  tm.tm_year = std::stoi(std::string(s.substr(0, 4))) - 1900;
  tm.tm_mon = std::stoi(std::string(s.substr(5, 2))) - 1;
  tm.tm_mday = std::stoi(std::string(s.substr(8, 2)));
  tm.tm_hour = std::stoi(std::string(s.substr(11, 2)));
  tm.tm_min = std::stoi(std::string(s.substr(14, 2)));
  tm.tm_sec = std::stoi(std::string(s.substr(17, 2)));
  std::int64_t us = static_cast<std::int64_t>(timegm(&tm)) * 1000000;
  if (s[19] == '.') {
    std::int64_t frac = 0;
    int digits = 0;
    for (std::size_t i = 20; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      if (digits < 6) frac = frac * 10 + (s[i] - '0'), ++digits;
    }
    while (digits++ < 6)
      frac *= 10;
    us += frac;
  }
  return us;
}

inline std::int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Latencies in 0.1 ms buckets up to 120 s (the last bucket holds everything above).
class histogram {
public:
  static constexpr std::size_t buckets = 1200000;
  histogram() : counts_(std::make_unique<std::atomic<std::uint64_t>[]>(buckets)) {}
  void add_micros(std::int64_t us) {
    if (us < 0) us = 0;
    const auto b = std::min<std::size_t>(static_cast<std::size_t>(us / 100), buckets - 1);
    counts_[b].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t count() const { return total_.load(); }
  // The q-quantile in milliseconds (the upper edge of its bucket); 0 when empty.
  double quantile_ms(double q) const {
    const auto n = total_.load();
    if (n == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
      seen += counts_[b].load(std::memory_order_relaxed);
      if (seen >= rank) return static_cast<double>(b + 1) / 10.0;
    }
    return static_cast<double>(buckets) / 10.0;
  }
  double max_ms() const {
    for (std::size_t b = buckets; b-- > 0;) {
      if (counts_[b].load(std::memory_order_relaxed) != 0) return static_cast<double>(b + 1) / 10.0;
    }
    return 0;
  }

private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> total_{0};
};

struct proc_sample {
  double cpu_s = 0;  // user + system
  long hwm_kib = 0;  // peak RSS
  long rss_kib = 0;
};

inline proc_sample sample(int pid) {
  proc_sample p;
  if (pid == 0) return p;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return p;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;)
    f.push_back(x);
  if (f.size() > 13) {
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    p.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / tick;  // utime, stime
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) p.hwm_kib = std::stol(line.substr(6));
    if (line.starts_with("VmRSS:")) p.rss_kib = std::stol(line.substr(6));
  }
  return p;
}

// Starts a new peak-RSS measurement for `pid` (VmHWM := current RSS).
inline void reset_hwm(int pid) {
  if (pid == 0) return;
  std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5";
}

}  // namespace bench
