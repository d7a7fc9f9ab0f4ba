#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace tender::core {

// Every component that starts registers how to stop it; stop_all() stops them in exact reverse
// order of start, logging each step and its duration. A stop function may block (it runs on the
// thread that calls stop_all, never on an I/O thread) and receives the time left before the
// overall deadline, which it should respect.
class lifecycle {
public:
  using clock = std::chrono::steady_clock;
  using stop_fn = std::function<void(clock::time_point deadline)>;

  void started(std::string name, stop_fn stop);
  // Returns the names in the order they were stopped. Calling it again does nothing.
  std::vector<std::string> stop_all(clock::time_point deadline);
  std::size_t size() const;

private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, stop_fn>> components_;
};

}  // namespace tender::core
