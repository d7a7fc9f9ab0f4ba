#include <tender/core/hall_params.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>

namespace tender::core {
namespace {

using k = param_kind;
constexpr std::int64_t any_id = INT64_MAX;

// Shared rows of the table.
constexpr hall_param challenge_id{"challenge_id", k::text, true, 1, 64};
constexpr hall_param signer_key{"key", k::hex, true, 64, 64};
constexpr hall_param signature{"signature", k::base64, true, 1, 512};
constexpr hall_param lot{"lot", k::integer, true, 1, 999};
constexpr hall_param nonce{"nonce", k::hex, true, 64, 64};
constexpr hall_param reason{"reason", k::text, true, 1, 500};

constexpr std::array<hall_param, 4> sign_in{
    {challenge_id, signer_key, signature, {"commitment", k::hex, true, 64, 64}}};
constexpr std::array<hall_param, 1> commit_host{{{"commitment", k::hex, true, 64, 64}}};
constexpr std::array<hall_param, 6> decrypt{{lot,
                                             {"file", k::text, true, 1, 16},
                                             {"key_material", k::base64, true, 32, 32},
                                             challenge_id,
                                             signer_key,
                                             signature}};
constexpr std::array<hall_param, 2> help{{lot, {"text", k::text, true, 1, 500}}};
constexpr std::array<hall_param, 3> share{
    {lot, {"org_id", k::text, true, 1, 64}, {"share", k::object, true, 1, 64 * 1024}}};
constexpr std::array<hall_param, 2> extend_window{{{"seconds", k::integer, true, 1, 3600}, reason}};
constexpr std::array<hall_param, 1> reveal{{nonce}};
constexpr std::array<hall_param, 4> confirm{
    {{"digest", k::hex, true, 64, 64}, challenge_id, signer_key, signature}};
constexpr std::array<hall_param, 2> object{
    {{"text", k::text, true, 1, 2000}, {"lot", k::integer, false, 1, 999}}};
constexpr std::array<hall_param, 2> answer{
    {{"objection_id", k::integer, true, 1, any_id}, {"text", k::text, true, 1, 2000}}};
constexpr std::array<hall_param, 1> flag{{reason}};

struct action_params {
  std::string_view action;
  std::span<const hall_param> params;
};

// hall-protocol.md §5, row by row.
const action_params table[] = {
    {"challenge", {}},
    {"sign_in", sign_in},
    {"commit_host", commit_host},
    {"check_guarantees", {}},
    {"publish_list", {}},
    {"open_window", {}},
    {"decrypt", decrypt},
    {"help", help},
    {"share", share},
    {"extend_window", extend_window},
    {"reveal_host", reveal},
    {"reveal_representative", reveal},
    {"draw", {}},
    {"announce", {}},
    {"confirm", confirm},
    {"finish", {}},
    {"object", object},
    {"answer", answer},
    {"pause", flag},
    {"resume", flag},
    {"suspend", flag},
    {"unsuspend", flag},
};

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string range(std::int64_t lo, std::int64_t hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

// Why `v` does not fit `p`, or nullopt.
std::optional<std::string> misfit(const hall_param& p, const boost::json::value& v) {
  switch (p.kind) {
    case k::text: {
      if (!v.is_string()) return "must be text";
      const auto& s = v.get_string();
      if (s.size() < static_cast<std::size_t>(p.min) ||
          utf8_length(s) > static_cast<std::size_t>(p.max)) {
        return "must be " + range(p.min, p.max) + " characters";
      }
      return std::nullopt;
    }
    case k::hex: {
      if (!v.is_string()) return "must be text";
      const auto& s = v.get_string();
      if (s.size() != static_cast<std::size_t>(p.max) || !lower_hex(s)) {
        return "must be " + std::to_string(p.max) + " lower-case hex digits";
      }
      return std::nullopt;
    }
    case k::base64: {
      if (!v.is_string()) return "must be text";
      const auto n = base64_decoded_size(v.get_string());
      if (!n || *n < static_cast<std::size_t>(p.min) || *n > static_cast<std::size_t>(p.max)) {
        return "must be standard base64 of " + range(p.min, p.max) + " bytes";
      }
      return std::nullopt;
    }
    case k::integer: {
      if (!(v.is_int64() || v.is_uint64())) return "must be an integer";
      const std::int64_t n =
          v.is_int64()
              ? v.get_int64()
              : static_cast<std::int64_t>(std::min<std::uint64_t>(v.get_uint64(), INT64_MAX));
      if (n < p.min || n > p.max) return "must be " + range(p.min, p.max);
      return std::nullopt;
    }
    case k::object: {
      const std::size_t size = v.is_object()   ? boost::json::serialize(v).size()
                               : v.is_string() ? v.get_string().size()
                                               : 0;
      if (!v.is_object() && !v.is_string()) return "must be a JSON object";
      if (size < static_cast<std::size_t>(p.min) || size > static_cast<std::size_t>(p.max)) {
        return "must be a JSON object of at most " + std::to_string(p.max) + " bytes";
      }
      return std::nullopt;
    }
  }
  return "has a kind this server does not know";
}

}  // namespace

std::optional<std::span<const hall_param>> hall_action_params(std::string_view action) {
  for (const auto& row : table)
    if (row.action == action) return row.params;
  return std::nullopt;
}

std::optional<std::size_t> base64_decoded_size(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  const auto body = text.substr(0, text.size() - pad);
  const bool alphabet = std::all_of(body.begin(), body.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
  if (!alphabet) return std::nullopt;
  return text.size() / 4 * 3 - pad;
}

std::variant<hall_params, hall_refusal> check_hall_params(std::string_view action,
                                                          const boost::json::object& params) {
  const auto row = hall_action_params(action);
  if (!row) {
    return hall_refusal{"hall.bad_message",
                        "unknown action '" + std::string(action.substr(0, 40)) + "'"};
  }
  const std::string name(action);
  for (const auto& kv : params) {
    const bool declared = std::any_of(row->begin(), row->end(),
                                      [&](const hall_param& p) { return p.key == kv.key(); });
    if (!declared) {
      return hall_refusal{
          "hall.bad_message",
          "unknown parameter '" + std::string(kv.key().substr(0, 40)) + "' for action " + name};
    }
  }
  hall_params out;
  out.action_ = name;
  out.row_ = *row;
  for (const auto& p : *row) {
    const auto* v = params.if_contains(p.key);
    if (v == nullptr || v->is_null()) {
      if (p.required) {
        return hall_refusal{"hall.bad_message",
                            "parameter '" + std::string(p.key) + "' of " + name + " is required"};
      }
      continue;
    }
    if (auto why = misfit(p, *v)) {
      return hall_refusal{"hall.bad_message",
                          "parameter '" + std::string(p.key) + "' of " + name + " " + *why};
    }
    out.values_[p.key] = *v;
  }
  return out;
}

const hall_param& hall_params::declared(std::string_view key, bool text_like) const {
  for (const auto& p : row_) {
    if (p.key != key) continue;
    const bool is_text = p.kind == k::text || p.kind == k::hex || p.kind == k::base64;
    if (text_like == is_text) return p;
    break;
  }
  throw std::logic_error("hall action " + action_ + " reads parameter '" + std::string(key) +
                         "' that its row of the table does not declare with that kind");
}

void hall_params::absent(std::string_view key) const {
  throw std::logic_error("hall action " + action_ + " reads '" + std::string(key) +
                         "' as required, but it is optional and absent");
}

const boost::json::value* hall_params::present(std::string_view key) const {
  return values_.if_contains(key);
}

std::string hall_params::text(std::string_view key) const {
  auto v = optional_text(key);
  if (!v) absent(key);
  return *v;
}

std::optional<std::string> hall_params::optional_text(std::string_view key) const {
  (void)declared(key, true);
  const auto* v = present(key);
  if (v == nullptr) return std::nullopt;
  return std::string(v->get_string());
}

std::int64_t hall_params::integer(std::string_view key) const {
  auto v = optional_integer(key);
  if (!v) absent(key);
  return *v;
}

std::optional<std::int64_t> hall_params::optional_integer(std::string_view key) const {
  const auto& p = declared(key, false);
  if (p.kind != k::integer) {
    throw std::logic_error("hall action " + action_ + " reads '" + std::string(key) +
                           "' as an integer");
  }
  const auto* v = present(key);
  if (v == nullptr) return std::nullopt;
  return v->is_int64() ? v->get_int64() : INT64_MAX;
}

std::string hall_params::object_text(std::string_view key) const {
  const auto& p = declared(key, false);
  if (p.kind != k::object) {
    throw std::logic_error("hall action " + action_ + " reads '" + std::string(key) +
                           "' as an object");
  }
  const auto* v = present(key);
  if (v == nullptr) absent(key);
  return v->is_string() ? std::string(v->get_string()) : boost::json::serialize(*v);
}

}  // namespace tender::core
