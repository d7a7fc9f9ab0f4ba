// Tampering: flipped bits everywhere that matters, truncation at every boundary, appended,
// swapped and transplanted pieces, and wrong keys. Every case must fail with its own code, both
// for the keyless verify() the server runs at upload and for opening with the file key — and an
// opening must never release plaintext of a chunk that did not authenticate.

#include "sealed_support.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace sealed_test;

// Fixed header offsets (protocol/docs/sealed-bid-format.md §3).
constexpr std::size_t off_version = 8;
constexpr std::size_t off_created = 14;
constexpr std::size_t off_key_check = 38;
constexpr std::size_t off_ids = 54;

using code_set = std::set<std::string>;

class sealed_tamper : public testing::TestWithParam<tc::suite_id> {
protected:
  void SetUp() override {
    tc::init();
    suite_ = GetParam();
    bidder_ = make_bidder(suite_);
    escrow_.emplace(suite_);
    params_ = params_for(suite_, ts::key_policy::bidder_or_escrow, bidder_, &*escrow_);
    body_ = make_body(3 * ts::chunk_size + 100, 3);  // three full chunks and a short last one
    file_ = seal_string(params_, body_);
    key_ = file_key_via_bidder(file_.bytes, bidder_, &*escrow_);
    std::istringstream in(file_.bytes);
    layout_ = ts::inspect(in);
    tag_ = tc::get_suite(suite_).aead_tag_size();
  }

  std::size_t header_end() const { return layout_.header_size; }
  std::size_t body_start() const { return layout_.header_size + layout_.summary_section_size; }
  std::size_t trailer_start() const { return body_start() + layout_.body_section_size; }
  // Offset of chunk i's 4-byte frame header.
  std::size_t frame_at(std::size_t i) const {
    return body_start() + i * (4 + ts::chunk_size + tag_);
  }

  std::string verify_code(const std::string& f) const {
    return code_of([&] {
      std::istringstream in(f);
      (void)ts::verify(in);
    });
  }

  // Opens with the genuine file key; returns the code and what was released.
  std::pair<std::string, std::string> open_code(const std::string& f) const {
    std::istringstream in(f);
    std::ostringstream out;
    const std::string code = code_of([&] { (void)ts::open_body(in, key_.view(), out); });
    return {code, out.str()};
  }

  // What a streaming opener may have released before failing in chunk `bad`: whole good chunks.
  std::string released_before(std::size_t bad) const {
    return body_.substr(0, std::min(body_.size(), bad * ts::chunk_size));
  }

  static std::string flipped(std::string f, std::size_t pos, std::uint8_t mask = 0x01) {
    f[pos] = static_cast<char>(f[pos] ^ mask);
    return f;
  }

  tc::suite_id suite_{};
  bidder bidder_;
  std::optional<escrow_fixture> escrow_;
  ts::seal_params params_;
  std::string body_;
  sealed_file file_;
  tc::secure_bytes key_;
  ts::file_layout layout_;
  std::size_t tag_ = 0;
};

TEST_P(sealed_tamper, the_untouched_file_passes) {
  EXPECT_EQ(verify_code(file_.bytes), "");
  const auto [code, out] = open_code(file_.bytes);
  EXPECT_EQ(code, "");
  EXPECT_EQ(out, body_);
  EXPECT_EQ(layout_.tr.chunk_count, 4u);
}

TEST_P(sealed_tamper, every_header_byte_flip_is_caught) {
  const std::size_t mac_start = header_end() - 32;
  for (std::size_t i = 0; i < header_end(); ++i) {
    SCOPED_TRACE("header byte " + std::to_string(i));
    const std::string f = flipped(file_.bytes, i);
    const std::string v = verify_code(f);
    const auto [o, released] = open_code(f);
    EXPECT_EQ(released, "") << "plaintext released from a file with a bad header";
    if (i < off_version) {
      EXPECT_EQ(v, ts::codes::bad_magic);
      EXPECT_EQ(o, ts::codes::bad_magic);
    } else if (i == off_version) {
      EXPECT_EQ(v, ts::codes::unsupported_version);
      EXPECT_EQ(o, ts::codes::unsupported_version);
    } else if (i < off_created) {  // suite, policy, stanza count, header length
      EXPECT_TRUE(
          (code_set{ts::codes::malformed_header, ts::codes::header_mismatch, ts::codes::truncated}
               .count(v)))
          << v;
      EXPECT_TRUE(
          (code_set{ts::codes::malformed_header, ts::codes::header_mac, ts::codes::truncated}.count(
              o)))
          << o;
    } else if (i < off_ids || i >= mac_start) {  // fixed-size fields and the MAC
      EXPECT_EQ(v, ts::codes::header_mismatch);
      const bool key_check = i >= off_key_check && i < off_ids;
      EXPECT_EQ(o, key_check ? ts::codes::wrong_key : ts::codes::header_mac);
    } else {  // identifiers, rehearsal key, stanzas: either unparsable or unauthenticated
      EXPECT_TRUE((code_set{ts::codes::malformed_header, ts::codes::header_mismatch}.count(v)))
          << v;
      EXPECT_TRUE((code_set{ts::codes::malformed_header, ts::codes::header_mac}.count(o))) << o;
    }
  }
}

TEST_P(sealed_tamper, summary_section_flips_are_caught_before_any_body_plaintext) {
  for (std::size_t i = header_end(); i < body_start(); ++i) {
    SCOPED_TRACE("summary byte " + std::to_string(i));
    const std::string f = flipped(file_.bytes, i);
    const auto [o, released] = open_code(f);
    EXPECT_EQ(released, "");
    std::istringstream in(f);
    const std::string s = code_of([&] { (void)ts::open_summary(in, key_.view()); });
    if (i < header_end() + 4) {  // the length prefix
      EXPECT_TRUE((code_set{ts::codes::malformed_summary, ts::codes::summary_auth_failed,
                            ts::codes::truncated}
                       .count(s)))
          << s;
      EXPECT_NE(verify_code(f), "");
    } else {
      EXPECT_EQ(s, ts::codes::summary_auth_failed);
      EXPECT_EQ(o, ts::codes::summary_auth_failed);
      EXPECT_EQ(verify_code(f), ts::codes::ciphertext_mismatch);
    }
  }
}

TEST_P(sealed_tamper, chunk_flips_at_boundaries_and_tags_release_no_bad_plaintext) {
  for (std::size_t c = 0; c < layout_.tr.chunk_count; ++c) {
    const std::size_t frame = frame_at(c);
    const std::size_t len = c + 1 < layout_.tr.chunk_count ? ts::chunk_size : 100;
    const std::size_t data = frame + 4;
    const std::size_t tag = data + len;
    // Ciphertext edges and every tag byte: authentication fails in exactly this chunk.
    std::vector<std::size_t> positions = {data, data + 1, data + len / 2, tag - 1};
    for (std::size_t t = 0; t < tag_; ++t)
      positions.push_back(tag + t);
    for (const std::size_t pos : positions) {
      SCOPED_TRACE("chunk " + std::to_string(c) + " byte " + std::to_string(pos));
      for (const std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
        const std::string f = flipped(file_.bytes, pos, mask);
        const auto [o, released] = open_code(f);
        EXPECT_EQ(o, ts::codes::chunk_auth_failed);
        EXPECT_EQ(released, released_before(c));
        EXPECT_EQ(verify_code(f), ts::codes::ciphertext_mismatch);
      }
    }
    // The 4-byte frame header: the length and the last-chunk bit.
    for (std::size_t b = 0; b < 4; ++b) {
      for (const std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
        SCOPED_TRACE("chunk " + std::to_string(c) + " frame byte " + std::to_string(b));
        const std::string f = flipped(file_.bytes, frame + b, mask);
        const auto [o, released] = open_code(f);
        EXPECT_TRUE(
            (code_set{ts::codes::malformed_body, ts::codes::chunk_auth_failed, ts::codes::truncated}
                 .count(o)))
            << o;
        EXPECT_EQ(released, released_before(c));
        EXPECT_NE(verify_code(f), "");
      }
    }
  }
}

TEST_P(sealed_tamper, every_trailer_byte_flip_is_caught) {
  for (std::size_t i = trailer_start(); i < file_.bytes.size(); ++i) {
    SCOPED_TRACE("trailer byte " + std::to_string(i - trailer_start()));
    const std::string f = flipped(file_.bytes, i);
    const std::string v = verify_code(f);
    const auto [o, released] = open_code(f);
    const std::size_t t = i - trailer_start();
    code_set allowed, allowed_open;
    if (t < 8) {
      allowed = {ts::codes::trailing_data};
    } else if (t < 24) {  // body size, chunk count
      allowed = {ts::codes::malformed_trailer};
    } else if (t < 56) {
      allowed = {ts::codes::header_mismatch};
    } else if (t < 88) {
      // verify() recomputes the ciphertext digest; an opening relies on the signature over it.
      allowed = {ts::codes::ciphertext_mismatch};
      allowed_open = {ts::codes::bad_signature};
    } else if (t < 120) {  // the commitment: the signature fails before the plaintext is compared
      allowed = {ts::codes::bad_signature};
    } else {  // signer kind and key, signature, their lengths
      allowed = {ts::codes::malformed_trailer, ts::codes::bad_signer, ts::codes::bad_signature,
                 ts::codes::truncated, ts::codes::trailing_data};
    }
    if (allowed_open.empty()) allowed_open = allowed;
    EXPECT_TRUE(allowed.count(v)) << "verify: " << v;
    EXPECT_TRUE(allowed_open.count(o)) << "open: " << o;
    // The body itself authenticated, so it was released; the error says not to trust it.
    EXPECT_EQ(released, body_);
  }
}

TEST_P(sealed_tamper, truncation_anywhere_is_truncated) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < header_end(); ++i)
    cuts.push_back(i);
  cuts.push_back(header_end() + 2);
  cuts.push_back(body_start());
  for (std::size_t c = 0; c < layout_.tr.chunk_count; ++c) {
    cuts.push_back(frame_at(c));          // at the chunk boundary
    cuts.push_back(frame_at(c) + 2);      // inside the frame header
    cuts.push_back(frame_at(c) + 4 + 7);  // inside the chunk
  }
  for (std::size_t i = trailer_start(); i < file_.bytes.size(); ++i)
    cuts.push_back(i);
  for (const std::size_t cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const std::string f = file_.bytes.substr(0, cut);
    EXPECT_EQ(verify_code(f), ts::codes::truncated);
    const auto [o, released] = open_code(f);
    EXPECT_EQ(o, ts::codes::truncated);
    // Nothing beyond the chunks that arrived whole.
    const auto chunk_end = [&](std::size_t c) {
      return c + 1 < layout_.tr.chunk_count ? frame_at(c + 1) : trailer_start();
    };
    std::size_t whole = 0;
    while (whole < layout_.tr.chunk_count && chunk_end(whole) <= cut)
      ++whole;
    EXPECT_EQ(released, released_before(whole));
  }
}

TEST_P(sealed_tamper, extension_reordering_and_trailing_bytes_are_caught) {
  const std::size_t frame_len = 4 + ts::chunk_size + tag_;
  // A copy of chunk 0 appended after the final chunk.
  {
    std::string f = file_.bytes;
    f.insert(trailer_start(), file_.bytes.substr(frame_at(0), frame_len));
    EXPECT_EQ(verify_code(f), ts::codes::trailing_data);
    EXPECT_EQ(open_code(f).first, ts::codes::trailing_data);
  }
  // Bytes after the trailer.
  {
    const std::string f = file_.bytes + std::string("\0", 1);
    EXPECT_EQ(verify_code(f), ts::codes::trailing_data);
    EXPECT_EQ(open_code(f).first, ts::codes::trailing_data);
  }
  // Chunks 0 and 1 swapped: the nonce carries the position.
  {
    std::string f = file_.bytes;
    f.replace(frame_at(0), frame_len, file_.bytes.substr(frame_at(1), frame_len));
    f.replace(frame_at(1), frame_len, file_.bytes.substr(frame_at(0), frame_len));
    const auto [o, released] = open_code(f);
    EXPECT_EQ(o, ts::codes::chunk_auth_failed);
    EXPECT_EQ(released, "");
    EXPECT_EQ(verify_code(f), ts::codes::ciphertext_mismatch);
  }
  // Truncated to three chunks with the third re-marked as last: the last flag is authenticated.
  {
    std::string f = file_.bytes.substr(0, frame_at(3));
    f[frame_at(2)] = static_cast<char>(f[frame_at(2)] | 0x80);
    f += file_.bytes.substr(trailer_start());
    const auto [o, released] = open_code(f);
    EXPECT_EQ(o, ts::codes::chunk_auth_failed);
    EXPECT_EQ(released, released_before(2));
  }
  // A chunk dropped from the middle.
  {
    std::string f = file_.bytes;
    f.erase(frame_at(1), frame_len);
    const auto [o, released] = open_code(f);
    EXPECT_EQ(o, ts::codes::chunk_auth_failed);
    EXPECT_EQ(released, released_before(1));
  }
}

TEST_P(sealed_tamper, a_header_swapped_from_another_bid_is_caught) {
  // Same bidder, same tender, another sealing: everything looks plausible except the binding.
  const sealed_file other = seal_string(params_, make_body(500, 9));
  std::istringstream oin(other.bytes);
  const std::size_t other_header = ts::inspect(oin).header_size;
  const std::string f = other.bytes.substr(0, other_header) + file_.bytes.substr(header_end());

  EXPECT_EQ(verify_code(f), ts::codes::header_mismatch);
  // With this bid's key the header does not fit...
  EXPECT_EQ(open_code(f).first, ts::codes::wrong_key);
  // ...and with the key the swapped header leads to, the summary and body do not.
  const tc::secure_bytes k = file_key_via_bidder(f, bidder_, &*escrow_);
  std::istringstream in(f);
  std::ostringstream out;
  EXPECT_EQ(code_of([&] { (void)ts::open_body(in, k.view(), out); }),
            ts::codes::summary_auth_failed);
  EXPECT_EQ(out.str(), "");
}

TEST_P(sealed_tamper, wrong_keys_and_secrets_are_refused) {
  const ts::header& h = layout_.hdr;
  // Another bidder's key: no stanza for it.
  const bidder stranger = make_bidder(suite_);
  EXPECT_EQ(code_of([&] { (void)ts::unwrap_bidder(h, stranger.encryption); }),
            ts::codes::wrong_key);
  // A key of the other suite.
  const tc::private_key alien = tc::private_key::generate(
      suite_ == tc::suite_id::sodium ? tc::key_type::sm2 : tc::key_type::x25519);
  EXPECT_EQ(code_of([&] { (void)ts::unwrap_bidder(h, alien); }), ts::codes::wrong_key);
  // A random file key, and a key of the wrong length.
  tc::bytes random_key(32);
  tc::system_random().fill(random_key);
  std::istringstream in(file_.bytes);
  EXPECT_EQ(code_of([&] { (void)ts::open_summary(in, random_key); }), ts::codes::wrong_key);
  EXPECT_EQ(code_of([&] { ts::check_file_key(h, tc::bytes(16)); }), ts::codes::wrong_key);
  // Escrow shares made for another bid's R, and a whole other escrow.
  const sealed_file other = seal_string(params_, "x");
  const tc::secure_bytes wrong_s =
      escrow_->shared_for(ts::escrow_ephemeral(header_of(other.bytes)));
  EXPECT_EQ(code_of([&] { (void)ts::file_key_from_escrow(h, wrong_s.view()); }),
            ts::codes::wrong_key);
  const escrow_fixture other_escrow(suite_);
  const tc::secure_bytes foreign_s = other_escrow.shared_for(ts::escrow_ephemeral(h));
  EXPECT_EQ(code_of([&] { (void)ts::file_key_from_escrow(h, foreign_s.view()); }),
            ts::codes::wrong_key);
  // The right escrow works.
  const tc::secure_bytes s = escrow_->shared_for(ts::escrow_ephemeral(h));
  EXPECT_TRUE(tc::constant_time_equal(ts::file_key_from_escrow(h, s.view()).view(), key_.view()));
}

TEST_P(sealed_tamper, a_signed_commitment_that_does_not_match_the_plaintext_is_the_bidders_fault) {
  // A dishonest sealer signs a commitment to something else. Everything authenticates, so only
  // the opening can tell — and the signature makes the failure attributable to the bidder.
  std::string f = file_.bytes;
  const std::size_t t = trailer_start();
  const std::size_t commitment = t + 88;
  f[commitment] = static_cast<char>(f[commitment] ^ 0x01);
  const std::size_t signer_len =
      (static_cast<std::uint8_t>(f[t + 121]) << 8) | static_cast<std::uint8_t>(f[t + 122]);
  const std::size_t signed_end = t + 123 + signer_len;
  std::string msg = "tenderhall/sealed/v1/signature";
  msg.push_back('\0');
  msg += f.substr(t, signed_end - t);
  const tc::bytes sig = tc::sign_message(bidder_.signing, view_of(msg));
  f.resize(signed_end);
  f.push_back(static_cast<char>(sig.size() >> 8));
  f.push_back(static_cast<char>(sig.size() & 0xff));
  f.append(sig.begin(), sig.end());

  EXPECT_EQ(verify_code(f), "");  // structure and signature are fine
  const auto [o, released] = open_code(f);
  EXPECT_EQ(o, ts::codes::commitment_mismatch);

  // The fast path without the commitment check does not see it — which is why it is opt-in —
  // but still authenticates every chunk.
  ts::open_options fast;
  fast.check_commitment = false;
  {
    std::istringstream in(f);
    std::ostringstream out;
    EXPECT_EQ(ts::open_body(in, key_.view(), out, fast).body_size, body_.size());
    EXPECT_EQ(out.str(), body_);
  }
  std::string g = flipped(file_.bytes, frame_at(1) + 9);
  std::istringstream in(g);
  std::ostringstream out;
  EXPECT_EQ(code_of([&] { (void)ts::open_body(in, key_.view(), out, fast); }),
            ts::codes::chunk_auth_failed);
  EXPECT_EQ(out.str(), released_before(1));
}

TEST_P(sealed_tamper, a_corrupted_stanza_is_bad_stanza_not_wrong_key) {
  ts::header h = layout_.hdr;
  h.stanzas[0].body[5] ^= 0x01;
  EXPECT_EQ(code_of([&] { (void)ts::unwrap_bidder(h, bidder_.encryption); }),
            ts::codes::bad_stanza);
}

TEST_P(sealed_tamper, a_file_signed_by_someone_else_is_refused_when_the_signer_is_known) {
  const bidder impostor = make_bidder(suite_);
  ts::seal_params p = params_;
  p.signing_key = impostor.signing;
  const sealed_file f = seal_string(p, "bid");
  std::istringstream in(f.bytes);
  const tc::public_key expected = bidder_.signing.public_part();
  EXPECT_EQ(code_of([&] { (void)ts::verify(in, &expected); }), ts::codes::bad_signer);
}

TEST_P(sealed_tamper, foreign_and_empty_inputs) {
  EXPECT_EQ(verify_code(""), ts::codes::truncated);
  EXPECT_EQ(verify_code("PK\x03\x04 definitely a zip file"), ts::codes::bad_magic);
  EXPECT_EQ(verify_code("age-encryption.org/v1\n"), ts::codes::bad_magic);
  EXPECT_EQ(code_of([] { (void)ts::parse_header(tc::bytes{}); }), ts::codes::bad_magic);
}

INSTANTIATE_TEST_SUITE_P(both, sealed_tamper,
                         testing::Values(tc::suite_id::sodium, tc::suite_id::gm),
                         [](const testing::TestParamInfo<tc::suite_id>& i) {
                           return suite_label(i.param);
                         });

}  // namespace
