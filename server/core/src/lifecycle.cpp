#include <tender/core/lifecycle.hpp>
#include <tender/core/log.hpp>

#include <exception>

namespace tender::core {

void lifecycle::started(std::string name, stop_fn stop) {
  log::info("started", {{"component", name}});
  std::lock_guard lock(mutex_);
  components_.emplace_back(std::move(name), std::move(stop));
}

std::size_t lifecycle::size() const {
  std::lock_guard lock(mutex_);
  return components_.size();
}

std::vector<std::string> lifecycle::stop_all(clock::time_point deadline) {
  std::vector<std::pair<std::string, stop_fn>> todo;
  {
    std::lock_guard lock(mutex_);
    todo.swap(components_);
  }
  std::vector<std::string> order;
  for (auto it = todo.rbegin(); it != todo.rend(); ++it) {
    const auto begin = clock::now();
    try {
      it->second(deadline);
    } catch (const std::exception& e) {
      log::error("stop failed", {{"component", it->first}, {"error", e.what()}});
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - begin).count();
    log::info("stopped", {{"component", it->first}, {"ms", ms}});
    order.push_back(it->first);
  }
  return order;
}

}  // namespace tender::core
