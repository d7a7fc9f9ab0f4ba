#include <tender/crypto/canonical_json.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace tender::crypto {
namespace json = boost::json;

namespace {

void canonical_into(const json::value& v, std::string& out) {
  if (v.is_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> items;
    for (const auto& kv : v.get_object())
      items.emplace_back(std::string_view(kv.key().data(), kv.key().size()), &kv.value());
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i != 0) out += ',';
      out += json::serialize(json::value(json::string(items[i].first)));
      out += ':';
      canonical_into(*items[i].second, out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v.get_array()) {
      if (!first) out += ',';
      first = false;
      canonical_into(e, out);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string canonical_json(const json::value& v) {
  std::string out;
  canonical_into(v, out);
  return out;
}

}  // namespace tender::crypto
