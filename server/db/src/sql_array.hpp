#pragma once

// PostgreSQL array literals for statement parameters. Private to the db layer.

#include <string>
#include <vector>

namespace tender::db {

// An array literal of integers: "{1,2,3}". Passed as a parameter (`$1::int[]`), never spliced
// into SQL.
template <class T>
std::string int_array(const std::vector<T>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ",";
    out += std::to_string(values[i]);
  }
  return out + "}";
}

// An array literal of texts, each quoted: {"a","b \"c\""}. Passed as a parameter (`$1::text[]`).
inline std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ",";
    out += '"';
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace tender::db
