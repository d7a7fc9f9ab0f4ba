#include <tender/core/log.hpp>

#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>

namespace tender::core::log {
namespace {

std::atomic<int> current_level{static_cast<int>(level::info)};
std::mutex sink_mutex;
std::ostream* sink = nullptr;

const char* level_name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void set_level(level l) {
  current_level.store(static_cast<int>(l));
}

level parse_level(std::string_view name) {
  if (name == "debug") return level::debug;
  if (name == "warn") return level::warn;
  if (name == "error") return level::error;
  return level::info;
}

void set_sink(std::ostream* out) {
  std::lock_guard lock(sink_mutex);
  sink = out;
}

void write(level l, std::string_view message, boost::json::object fields) {
  if (static_cast<int>(l) < current_level.load()) return;
  boost::json::object line;
  line["ts"] = utc_timestamp();
  line["level"] = level_name(l);
  line["msg"] = message;
  for (auto& [k, v] : fields)
    line[k] = std::move(v);
  std::string text = boost::json::serialize(line);
  text.push_back('\n');
  std::lock_guard lock(sink_mutex);
  std::ostream& out = sink != nullptr ? *sink : std::cerr;
  out << text;
  out.flush();
}

}  // namespace tender::core::log
