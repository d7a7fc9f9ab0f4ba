#include <tender/api/body.hpp>
#include <tender/api/escrow_ceremony.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include <boost/json.hpp>

#include <utility>

namespace tender::api {
namespace json = boost::json;
using core::ceremony::message;

namespace {

constexpr std::int64_t max_index = 100;
constexpr std::size_t max_binary = 64;  // bytes: a point (32 or 33) or a scalar (32)

[[noreturn]] void refuse(std::string message) {
  throw bad_json(std::move(message));
}

// Base64 text of 1..max_binary bytes, returned as sent.
std::string checked_binary(std::string text, const std::string& field) {
  try {
    const auto raw = crypto::base64_decode(text);
    if (raw.empty() || raw.size() > max_binary) {
      refuse("field '" + field + "' must be 1 to " + std::to_string(max_binary) +
             " bytes of base64");
    }
  } catch (const crypto::error&) {
    refuse("field '" + field + "' is not standard padded base64");
  }
  return text;
}

constexpr std::size_t max_text = 4 * ((max_binary + 2) / 3);

std::string binary(const body_reader& r, std::string_view name) {
  return checked_binary(r.text(name, max_text), r.field_name(name));
}

json::object proof_of(const body_reader& r) {
  const auto p = r.object("proof", {"c", "z"});
  return {{"c", binary(p, "c")}, {"z", binary(p, "z")}};
}

}  // namespace

std::string read_ceremony_start(std::string_view body) {
  const body_reader r(body, {"group"});
  return r.one_of("group", {"ristretto255", "sm2"});
}

json::object read_ceremony_message(message kind, std::string_view body) {
  switch (kind) {
    case message::key: {
      const body_reader r(body, {"index", "transport_key"});
      return {{"index", r.integer("index", 1, max_index)},
              {"transport_key", binary(r, "transport_key")}};
    }
    case message::dealing: {
      const body_reader r(body, {"index", "commitments", "shares"});
      json::object out{{"index", r.integer("index", 1, max_index)}};
      json::array commitments;
      const auto& cs = r.array("commitments", max_index);
      for (std::size_t i = 0; i < cs.size(); ++i) {
        const std::string field = "commitments[" + std::to_string(i) + "]";
        if (!cs[i].is_string() || cs[i].get_string().size() > max_text) {
          refuse("field '" + field + "' must be a base64 string of at most " +
                 std::to_string(max_text) + " characters");
        }
        commitments.emplace_back(checked_binary(std::string(cs[i].get_string()), field));
      }
      if (commitments.empty()) refuse("field 'commitments' must hold at least one commitment");
      json::array shares;
      const auto& ss = r.array("shares", max_index);
      for (std::size_t i = 0; i < ss.size(); ++i) {
        const body_reader s(ss[i], "shares[" + std::to_string(i) + "]", {"ephemeral", "masked"});
        shares.push_back(
            json::object{{"ephemeral", binary(s, "ephemeral")}, {"masked", binary(s, "masked")}});
      }
      if (shares.empty()) refuse("field 'shares' must hold one sealed share per custodian");
      out["commitments"] = std::move(commitments);
      out["shares"] = std::move(shares);
      return out;
    }
    case message::confirmation: {
      const body_reader r(body, {"index", "proof"});
      return {{"index", r.integer("index", 1, max_index)}, {"proof", proof_of(r)}};
    }
    case message::complaint: {
      const body_reader r(body, {"index", "dealer", "shared", "proof"});
      return {{"index", r.integer("index", 1, max_index)},
              {"dealer", r.integer("dealer", 1, max_index)},
              {"shared", binary(r, "shared")},
              {"proof", proof_of(r)}};
    }
  }
  refuse("unknown ceremony message");
}

}  // namespace tender::api
