// JSON forms of the escrow setup, custodian shares and decryption shares (layouts in escrow.hpp
// and protocol/docs/threshold-escrow.md). Parsers check structure here and values through the same
// checks the algorithms use, so a file that parses is safe to hand to them.

#include <tender/crypto/escrow.hpp>

#include "escrow_group.hpp"

#include <boost/json.hpp>

#include <cstring>
#include <limits>
#include <string>

namespace tender::crypto::escrow {
namespace {

namespace json = boost::json;

constexpr std::string_view setup_type = "tenderhall.escrow.setup";
constexpr std::string_view share_type = "tenderhall.escrow.share";
constexpr std::string_view decryption_share_type = "tenderhall.escrow.decryption_share";
constexpr std::int64_t format_version = 1;

// A custodian share file is about 150 bytes; anything much larger is not one.
constexpr std::size_t max_share_json_size = 4096;

[[noreturn]] void bad_json(const std::string& why) {
  throw error(codes::bad_json, why);
}

void check_size(std::string_view text, std::size_t limit) {
  if (text.size() > limit) bad_json("input larger than " + std::to_string(limit) + " bytes");
}

json::object parse_object(std::string_view text) {
  check_size(text, max_json_size);
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) bad_json("not valid JSON: " + ec.message());
  if (!v.is_object()) bad_json("expected a JSON object");
  return std::move(v.as_object());
}

const json::value& field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) bad_json("missing field \"" + std::string(key) + "\"");
  return *v;
}

std::string_view string_field(const json::object& o, std::string_view key) {
  const json::value& v = field(o, key);
  if (!v.is_string()) bad_json("field \"" + std::string(key) + "\" must be a string");
  return v.get_string();
}

std::uint32_t uint_field(const json::object& o, std::string_view key) {
  const json::value& v = field(o, key);
  std::uint64_t n = 0;
  if (v.is_uint64()) {
    n = v.get_uint64();
  } else if (v.is_int64() && v.get_int64() >= 0) {
    n = static_cast<std::uint64_t>(v.get_int64());
  } else {
    bad_json("field \"" + std::string(key) + "\" must be a non-negative integer");
  }
  if (n > std::numeric_limits<std::uint32_t>::max()) {
    bad_json("field \"" + std::string(key) + "\" is out of range");
  }
  return static_cast<std::uint32_t>(n);
}

void check_header(const json::object& o, std::string_view type) {
  if (string_field(o, "type") != type) bad_json("expected an object of type " + std::string(type));
  const json::value& version = field(o, "version");
  if (!version.is_int64() || version.get_int64() != format_version) {
    bad_json("unsupported " + std::string(type) + " version");
  }
}

bytes base64_field(std::string_view text, std::string_view key) {
  try {
    return base64_decode(text);
  } catch (const error&) {
    bad_json("field \"" + std::string(key) + "\" is not valid padded base64");
  }
}

bytes base64_field(const json::object& o, std::string_view key) {
  return base64_field(string_field(o, key), key);
}

std::uint32_t index_field(const json::object& o) {
  const std::uint32_t index = uint_field(o, "index");
  if (index < 1 || index > max_custodians) {
    throw error(codes::bad_index, "custodian index " + std::to_string(index) + " is outside 1.." +
                                      std::to_string(max_custodians));
  }
  return index;
}

json::string b64(byte_view data) {
  return json::string(base64_encode(data));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string setup_to_json(const setup_public& pub) {
  json::object o;
  o["type"] = setup_type;
  o["version"] = format_version;
  o["group"] = group_name(pub.grp);
  o["threshold"] = pub.threshold;
  o["custodians"] = pub.custodians;
  o["public_key"] = b64(pub.public_key);
  json::array commitments;
  for (const bytes& c : pub.commitments)
    commitments.push_back(b64(c));
  o["commitments"] = std::move(commitments);
  json::array labels;
  for (const std::string& l : pub.labels)
    labels.push_back(json::string(l));
  o["labels"] = std::move(labels);
  return json::serialize(o);
}

setup_public setup_from_json(std::string_view text) {
  const json::object o = parse_object(text);
  check_header(o, setup_type);
  setup_public pub;
  pub.grp = group_from_name(string_field(o, "group"));
  pub.threshold = uint_field(o, "threshold");
  pub.custodians = uint_field(o, "custodians");
  pub.public_key = base64_field(o, "public_key");

  const json::value& commitments = field(o, "commitments");
  if (!commitments.is_array()) bad_json("field \"commitments\" must be an array");
  for (const json::value& c : commitments.get_array()) {
    if (!c.is_string()) bad_json("each commitment must be a base64 string");
    pub.commitments.push_back(base64_field(c.get_string(), "commitments"));
  }
  const json::value& labels = field(o, "labels");
  if (!labels.is_array()) bad_json("field \"labels\" must be an array");
  for (const json::value& l : labels.get_array()) {
    if (!l.is_string()) bad_json("each label must be a string");
    pub.labels.emplace_back(l.get_string());
  }
  validate_setup(pub);
  return pub;
}

// ---------------------------------------------------------------------------------------------

secure_bytes share_to_json(const custodian_share& share) {
  const detail::group_ops& g = detail::ops_for(share.grp);
  if (!g.is_canonical_scalar(share.scalar.view())) {
    throw error(codes::bad_scalar, "custodian share scalar is not a valid scalar");
  }
  // Built by hand rather than through json::value so that the secret never sits in memory that is
  // not wiped. Every field but the base64 text is fixed ASCII, so no escaping is needed.
  const std::string head = "{\"type\":\"" + std::string(share_type) +
                           "\",\"version\":" + std::to_string(format_version) + ",\"group\":\"" +
                           std::string(g.name()) + "\",\"index\":" + std::to_string(share.index) +
                           ",\"share\":\"";
  const std::string tail = "\"}";
  std::string secret = base64_encode(share.scalar.view());
  secure_bytes out(head.size() + secret.size() + tail.size());
  std::memcpy(out.data(), head.data(), head.size());
  std::memcpy(out.data() + head.size(), secret.data(), secret.size());
  std::memcpy(out.data() + head.size() + secret.size(), tail.data(), tail.size());
  secure_wipe(secret.data(), secret.size());
  return out;
}

custodian_share share_from_json(std::string_view text) {
  check_size(text, max_share_json_size);
  // Parse into wiping storage: the parser's scratch space and the value tree (which holds the
  // base64 secret) live in secure_bytes buffers, with no fallback to the ordinary heap.
  secure_bytes scratch(max_share_json_size);
  secure_bytes arena(4 * max_share_json_size);
  json::monotonic_resource resource(arena.data(), arena.size(), json::get_null_resource());
  custodian_share out;
  try {
    json::parser parser(json::storage_ptr(), json::parse_options(), scratch.data(), scratch.size());
    parser.reset(&resource);
    json::error_code ec;
    parser.write(text.data(), text.size(), ec);
    if (ec) bad_json("not valid JSON: " + ec.message());
    const json::value v = parser.release();
    if (!v.is_object()) bad_json("expected a JSON object");
    const json::object& o = v.get_object();
    check_header(o, share_type);
    out.grp = group_from_name(string_field(o, "group"));
    out.index = index_field(o);
    bytes decoded = base64_field(o, "share");
    out.scalar = secure_bytes(decoded);
    secure_wipe(decoded.data(), decoded.size());
  } catch (const std::bad_alloc&) {
    bad_json("custodian share file is too large");
  }
  const detail::group_ops& g = detail::ops_for(out.grp);
  if (!g.is_canonical_scalar(out.scalar.view()) || g.scalar_is_zero(out.scalar.view())) {
    throw error(codes::bad_scalar,
                "the share is not a valid non-zero " + std::string(g.name()) + " scalar");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

std::string decryption_share_to_json(const decryption_share& share) {
  json::object o;
  o["type"] = decryption_share_type;
  o["version"] = format_version;
  o["group"] = group_name(share.grp);
  o["index"] = share.index;
  o["point"] = b64(share.point);
  json::object proof;
  proof["c"] = b64(share.proof.challenge);
  proof["z"] = b64(share.proof.response);
  o["proof"] = std::move(proof);
  return json::serialize(o);
}

decryption_share decryption_share_from_json(std::string_view text) {
  const json::object o = parse_object(text);
  check_header(o, decryption_share_type);
  decryption_share out;
  out.grp = group_from_name(string_field(o, "group"));
  out.index = index_field(o);
  out.point = base64_field(o, "point");
  const json::value& proof = field(o, "proof");
  if (!proof.is_object()) bad_json("field \"proof\" must be an object");
  out.proof.challenge = base64_field(proof.get_object(), "c");
  out.proof.response = base64_field(proof.get_object(), "z");

  check_point(out.grp, out.point);
  const detail::group_ops& g = detail::ops_for(out.grp);
  if (!g.is_canonical_scalar(out.proof.challenge) || !g.is_canonical_scalar(out.proof.response)) {
    throw error(codes::bad_scalar, "the proof of custodian " + std::to_string(out.index) +
                                       " does not hold valid " + std::string(g.name()) +
                                       " scalars");
  }
  return out;
}

}  // namespace tender::crypto::escrow
