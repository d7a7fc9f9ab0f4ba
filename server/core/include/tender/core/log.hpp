#pragma once

#include <boost/json/object.hpp>

#include <ostream>
#include <string_view>

namespace tender::core::log {

// Structured logs: one JSON object per line on stderr (or a stream given to set_sink), e.g.
//   {"ts":"2026-11-22T20:35:52.123Z","level":"info","msg":"listening","port":8080}
// Lines are written whole under a lock, so concurrent threads never interleave.
enum class level { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(level l);
level parse_level(std::string_view name);  // unknown names give info
// Redirects output (tests); nullptr restores stderr. The stream must outlive its use.
void set_sink(std::ostream* out);

void write(level l, std::string_view message, boost::json::object fields = {});
inline void debug(std::string_view m, boost::json::object f = {}) {
  write(level::debug, m, std::move(f));
}
inline void info(std::string_view m, boost::json::object f = {}) {
  write(level::info, m, std::move(f));
}
inline void warn(std::string_view m, boost::json::object f = {}) {
  write(level::warn, m, std::move(f));
}
inline void error(std::string_view m, boost::json::object f = {}) {
  write(level::error, m, std::move(f));
}

}  // namespace tender::core::log
