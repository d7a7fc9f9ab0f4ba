#pragma once

// Helpers shared by the sealed-bid tests: bidder keys, a real 3-of-5 escrow dealing, sealing to
// and opening from strings, and capturing error codes.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/suite.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sealed_test {

namespace tc = tender::crypto;
namespace ts = tender::crypto::sealed;

inline tc::byte_view view_of(const std::string& s) {
  return tc::as_bytes(s);
}

struct bidder {
  tc::private_key encryption;
  tc::private_key signing;
};

inline bidder make_bidder(tc::suite_id suite) {
  const tc::cipher_suite& s = tc::get_suite(suite);
  return bidder{tc::private_key::generate(s.encryption_key_type()),
                tc::private_key::generate(s.signature_key_type())};
}

inline tc::escrow::group group_of(tc::suite_id suite) {
  return suite == tc::suite_id::sodium ? tc::escrow::group::ristretto255 : tc::escrow::group::sm2;
}

// A real threshold escrow key: 3-of-5, opened with the shares of custodians 1, 3 and 5.
struct escrow_fixture {
  explicit escrow_fixture(tc::suite_id suite) : dealt(tc::escrow::deal(group_of(suite), 3, 5)) {}

  tc::escrow::public_key key() const { return dealt.pub.key(); }

  tc::secure_bytes shared_for(tc::byte_view ephemeral,
                              std::vector<std::uint32_t> who = {1, 3, 5}) const {
    std::vector<tc::escrow::decryption_share> shares;
    for (std::uint32_t i : who) {
      shares.push_back(
          tc::escrow::make_decryption_share(dealt.pub, dealt.shares[i - 1], ephemeral));
    }
    return tc::escrow::combine(dealt.pub, ephemeral, shares);
  }

  tc::escrow::dealing dealt;
};

inline ts::seal_params params_for(tc::suite_id suite, ts::key_policy policy, const bidder& b,
                                  const escrow_fixture* escrow,
                                  std::string bidder_id = "91310000MA1FL0001X") {
  ts::seal_params p;
  p.suite = suite;
  p.policy = policy;
  p.tender_id = "ZB-2024-0001";
  p.bidder_id = std::move(bidder_id);
  p.bidder_keys = {b.encryption.public_part()};
  if (policy != ts::key_policy::bidder) p.escrow_key = escrow->key();
  p.signing_key = b.signing;
  p.created_at = 1700000000;
  p.machine_fingerprint = "00000000000000000000000000000000000000000000000000000000000000aa";
  return p;
}

inline const char* summary_json() {
  return R"({"price":"12345678.90","duration_days":365,"quality":"qualified","project_manager":"Zhang San"})";
}

// Pseudo-random but reproducible plaintext of `size` bytes.
inline std::string make_body(std::size_t size, std::uint8_t seed = 1) {
  std::string out(size, '\0');
  std::uint32_t x = 0x9e3779b9u * (seed + 1u);
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

struct sealed_file {
  std::string bytes;
  ts::seal_result result;
};

inline sealed_file seal_string(const ts::seal_params& p, const std::string& body,
                               const char* summary = summary_json()) {
  std::istringstream in(body);
  std::ostringstream out;
  ts::seal_result r = ts::seal(p, summary, in, out);
  return sealed_file{out.str(), std::move(r)};
}

inline ts::header header_of(const std::string& file) {
  std::istringstream in(file);
  return ts::inspect(in).hdr;
}

// The file key through the bidder's own key (and, under bidder-and-escrow, the escrow).
inline tc::secure_bytes file_key_via_bidder(const std::string& file, const bidder& b,
                                            const escrow_fixture* escrow) {
  const ts::header h = header_of(file);
  ts::unwrapped_key k = ts::unwrap_bidder(h, b.encryption);
  if (k.kind == ts::key_kind::file_key) return std::move(k.key);
  const tc::secure_bytes s = escrow->shared_for(ts::escrow_ephemeral(h));
  return ts::file_key_from_escrow(h, s.view(), k.key.view());
}

inline std::string open_to_string(const std::string& file, tc::byte_view key,
                                  ts::open_result* result = nullptr) {
  std::istringstream in(file);
  std::ostringstream out;
  ts::open_result r = ts::open_body(in, key, out);
  if (result != nullptr) *result = std::move(r);
  return out.str();
}

// The error code thrown by f, or "" when it returns normally.
inline std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tc::error& e) {
    return e.code();
  }
  return "";
}

inline std::string suite_label(tc::suite_id s) {
  return std::string(tc::suite_name(s));
}

}  // namespace sealed_test
