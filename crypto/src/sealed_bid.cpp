#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/x509.hpp>

#include <sodium.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <istream>
#include <mutex>
#include <ostream>
#include <thread>

namespace tender::crypto::sealed {

namespace {

// ---------------------------------------------------------------------------------------------
// Constants of the format (protocol/docs/sealed-bid-format.md)

constexpr std::array<std::uint8_t, 8> header_magic = {0x89, 'T', 'H', 'S', 'B', 0x0d, 0x0a, 0x1a};
constexpr std::array<std::uint8_t, 8> trailer_magic = {'T', 'H', 'S', 'B', '-', 'E', 'N', 'D'};
constexpr std::size_t header_prefix_size = 14;  // magic, version, suite, policy, count, length
constexpr std::size_t mac_size = 32;
constexpr std::size_t max_bidder_stanzas = max_stanzas - 1;
constexpr std::size_t max_summary_section = salt_size + max_summary_json_size + 32;
constexpr std::size_t max_signature_size = 128;
constexpr std::uint32_t last_chunk_bit = 0x80000000u;

constexpr std::string_view label_key_check = "tenderhall/sealed/v1/key-check";
constexpr std::string_view label_header = "tenderhall/sealed/v1/header";
constexpr std::string_view label_summary = "tenderhall/sealed/v1/summary";
constexpr std::string_view label_payload = "tenderhall/sealed/v1/payload";
constexpr std::string_view label_rehearsal_key = "tenderhall/sealed/v1/rehearsal-key";
constexpr std::string_view label_rehearsal = "tenderhall/sealed/v1/rehearsal";
constexpr std::string_view label_x25519 = "tenderhall/sealed/v1/x25519";
constexpr std::string_view label_escrow = "tenderhall/sealed/v1/escrow";
constexpr std::string_view label_and_escrow = "tenderhall/sealed/v1/and-escrow";
constexpr std::string_view label_commitment = "tenderhall/sealed/v1/commitment";
constexpr std::string_view label_signature = "tenderhall/sealed/v1/signature";
constexpr std::string_view label_machine = "tenderhall/machine/v1";

[[noreturn]] void fail(const char* code, const std::string& message) {
  throw error(code, message);
}

bytes concat(std::initializer_list<byte_view> parts) {
  bytes out;
  for (byte_view p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Labels are hashed and signed with a terminating zero byte so that no label is a prefix of
// another label's input.
bytes label_bytes(std::string_view label) {
  bytes out(label.begin(), label.end());
  out.push_back(0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Big-endian byte writer / bounded reader

class writer {
public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void raw(byte_view b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void str8(byte_view b) {
    u8(static_cast<std::uint8_t>(b.size()));
    raw(b);
  }
  void str16(byte_view b) {
    u16(static_cast<std::uint16_t>(b.size()));
    raw(b);
  }
  bytes& data() { return out_; }

private:
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i)
      out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  bytes out_;
};

class reader {
public:
  reader(byte_view data, const char* code) : data_(data), code_(code) {}
  std::uint8_t u8() { return take(1)[0]; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(be(take(2))); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(be(take(4))); }
  std::uint64_t u64() { return be(take(8)); }
  byte_view take(std::size_t n) {
    if (data_.size() - pos_ < n) fail(code_, "field runs past the end of its section");
    byte_view out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  bytes str8() { return to_bytes(take(u8())); }
  bytes str16() { return to_bytes(take(u16())); }
  std::size_t pos() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }

private:
  static bytes to_bytes(byte_view b) { return bytes(b.begin(), b.end()); }
  static std::uint64_t be(byte_view b) {
    std::uint64_t v = 0;
    for (std::uint8_t x : b)
      v = (v << 8) | x;
    return v;
  }
  byte_view data_;
  std::size_t pos_ = 0;
  const char* code_;
};

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// ---------------------------------------------------------------------------------------------
// Streams

// Reads exactly `out.size()` bytes, or throws truncated (or io_error when the stream broke).
void read_exact(std::istream& in, std::span<std::uint8_t> out) {
  if (out.empty()) return;
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  if (static_cast<std::size_t>(in.gcount()) != out.size()) {
    if (in.bad()) fail(codes::io_error, "error reading the sealed file");
    fail(codes::truncated, "the sealed file ends too early");
  }
}

// Fills `out` as far as the stream allows; returns how many bytes were read.
std::size_t read_up_to(std::istream& in, std::span<std::uint8_t> out) {
  std::size_t got = 0;
  while (got < out.size() && in) {
    in.read(reinterpret_cast<char*>(out.data() + got),
            static_cast<std::streamsize>(out.size() - got));
    got += static_cast<std::size_t>(in.gcount());
  }
  if (in.bad()) fail(codes::io_error, "error reading the plaintext");
  return got;
}

void write_all(std::ostream& out, byte_view data) {
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) fail(codes::io_error, "error writing the output");
}

bool at_eof(std::istream& in) {
  return std::char_traits<char>::eq_int_type(in.peek(), std::char_traits<char>::eof());
}

// ---------------------------------------------------------------------------------------------
// Hashing on a helper thread

// Runs a hasher's updates on a helper thread, in submission order, so that hashing the plaintext
// (for the commitment) and the ciphertext (for the signature) overlaps the cipher on another core.
// Until start() it hashes inline. The caller keeps each submitted buffer unchanged until wait()
// on its ticket returns, and keeps every buffer alive until this object is destroyed.
class background_hasher {
public:
  explicit background_hasher(hasher& h) : hasher_(h) {}
  background_hasher(const background_hasher&) = delete;
  background_hasher& operator=(const background_hasher&) = delete;
  ~background_hasher() { stop(); }

  void start() {
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
  }

  // Returns the job's ticket (its 1-based number).
  std::uint64_t submit(byte_view data) {
    if (!worker_.joinable()) {
      hasher_.update(data);
      done_ = ++submitted_;
      return submitted_;
    }
    std::uint64_t ticket = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(data);
      ticket = ++submitted_;
    }
    changed_.notify_all();
    return ticket;
  }

  void wait(std::uint64_t ticket) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return done_ >= ticket || failure_; });
    if (failure_) std::rethrow_exception(failure_);
  }

  bytes finish() {
    wait(submitted_);
    stop();
    return hasher_.finish();
  }

private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      const byte_view job = jobs_.front();
      lock.unlock();
      try {
        hasher_.update(job);
      } catch (...) {
        lock.lock();
        failure_ = std::current_exception();
        changed_.notify_all();
        return;
      }
      lock.lock();
      jobs_.pop_front();
      ++done_;
      changed_.notify_all();
    }
  }

  void stop() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  hasher& hasher_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<byte_view> jobs_;
  std::uint64_t submitted_ = 0;
  std::uint64_t done_ = 0;
  bool stop_ = false;
  std::exception_ptr failure_;
  std::thread worker_;  // last: starts only after everything it uses exists
};

// Buffers in flight between the cipher and the hashing threads.
constexpr std::size_t pipeline_depth = 4;

// ---------------------------------------------------------------------------------------------
// Field rules

bool visible_ascii(byte_view s) {
  return std::all_of(s.begin(), s.end(), [](std::uint8_t c) { return c >= 0x21 && c <= 0x7e; });
}

void check_id(std::string_view value, std::size_t max, const char* code, const char* what) {
  if (value.empty() || value.size() > max || !visible_ascii(as_bytes(value))) {
    fail(code,
         std::string(what) + " must be 1.." + std::to_string(max) + " visible ASCII characters");
  }
}

stanza_type bidder_stanza_type(suite_id s) {
  return s == suite_id::sodium ? stanza_type::x25519 : stanza_type::sm2;
}

stanza_type escrow_stanza_type(suite_id s) {
  return s == suite_id::sodium ? stanza_type::escrow_ristretto255 : stanza_type::escrow_sm2;
}

escrow::group escrow_group_of(suite_id s) {
  return s == suite_id::sodium ? escrow::group::ristretto255 : escrow::group::sm2;
}

std::size_t rehearsal_key_size(suite_id s) {
  return s == suite_id::sodium ? 32 : 65;
}
std::size_t escrow_point_size(suite_id s) {
  return s == suite_id::sodium ? 32 : 33;
}

// Exact field sizes per stanza type; SM2 ciphertexts are DER and vary by a few bytes.
void check_stanza_shape(const stanza& st, suite_id suite, std::size_t tag) {
  const char* code = codes::malformed_header;
  switch (st.type) {
    case stanza_type::x25519:
      if (st.recipient.size() != 32 || st.ephemeral.size() != 32 || st.body.size() != 32 + tag) {
        fail(code, "x25519 stanza has wrong field sizes");
      }
      break;
    case stanza_type::sm2:
      if (st.recipient.size() != 65 || st.recipient[0] != 0x04 || !st.ephemeral.empty() ||
          st.body.size() < 96 || st.body.size() > 200) {
        fail(code, "sm2 stanza has wrong field sizes");
      }
      break;
    case stanza_type::escrow_ristretto255:
    case stanza_type::escrow_sm2: {
      const std::size_t n = escrow_point_size(suite);
      if (st.recipient.size() != n || st.ephemeral.size() != n || st.body.size() != 32 + tag) {
        fail(code, "escrow stanza has wrong field sizes");
      }
      // Canonical, on the curve and not the identity: a bad R would only fail at the opening,
      // after custodians had already published shares for it.
      try {
        escrow::check_point(escrow_group_of(suite), st.recipient);
        escrow::check_point(escrow_group_of(suite), st.ephemeral);
      } catch (const error&) {
        fail(code, "escrow stanza holds an invalid point");
      }
      break;
    }
  }
}

void check_stanza_set(const std::vector<stanza>& stanzas, suite_id suite, key_policy policy) {
  const char* code = codes::malformed_header;
  if (stanzas.empty() || stanzas.size() > max_stanzas) fail(code, "stanza count out of range");
  const bool has_escrow = policy != key_policy::bidder;
  const std::size_t bidders = stanzas.size() - (has_escrow ? 1 : 0);
  if (bidders == 0) fail(code, "no bidder stanza");
  for (std::size_t i = 0; i < stanzas.size(); ++i) {
    const stanza_type want = i < bidders ? bidder_stanza_type(suite) : escrow_stanza_type(suite);
    if (stanzas[i].type != want) fail(code, "stanza type does not fit the suite and key policy");
    for (std::size_t j = 0; j < i; ++j) {
      if (stanzas[j].recipient == stanzas[i].recipient) fail(code, "recipient appears twice");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Key schedule

secure_bytes derive(const cipher_suite& s, byte_view ikm, byte_view salt, std::string_view label,
                    std::size_t size) {
  return s.hkdf(ikm, salt, as_bytes(label), size);
}

bytes key_check_of(const cipher_suite& s, byte_view file_key) {
  const secure_bytes k = derive(s, file_key, {}, label_key_check, key_check_size);
  return bytes(k.view().begin(), k.view().end());
}

bytes header_mac_of(const cipher_suite& s, byte_view file_key, byte_view header_without_mac) {
  const secure_bytes k = derive(s, file_key, {}, label_header, mac_size);
  return s.hmac(k.view(), header_without_mac);
}

secure_bytes and_escrow_file_key(const cipher_suite& s, byte_view part_b, byte_view part_e) {
  secure_bytes ikm(part_b.size() + part_e.size());
  std::memcpy(ikm.data(), part_b.data(), part_b.size());
  std::memcpy(ikm.data() + part_b.size(), part_e.data(), part_e.size());
  return derive(s, ikm.view(), {}, label_and_escrow, file_key_size);
}

secure_bytes escrow_wrap_key(const cipher_suite& s, byte_view shared, byte_view r, byte_view y) {
  bytes info(label_escrow.begin(), label_escrow.end());
  info.push_back(static_cast<std::uint8_t>(s.id()));
  info.insert(info.end(), r.begin(), r.end());
  info.insert(info.end(), y.begin(), y.end());
  return s.hkdf(shared, {}, info, s.aead_key_size());
}

secure_bytes x25519_wrap_key(byte_view shared, byte_view ephemeral, byte_view recipient) {
  const bytes salt = concat({ephemeral, recipient});
  return get_suite(suite_id::sodium).hkdf(shared, salt, as_bytes(label_x25519), 32);
}

const aead_nonce zero_nonce{};

aead_nonce chunk_nonce(std::uint64_t index, bool last) {
  aead_nonce n{};
  // 11-byte big-endian counter; the top three bytes stay zero for any realistic file.
  for (int i = 0; i < 8; ++i)
    n[10 - i] = static_cast<std::uint8_t>(index >> (8 * i));
  n[11] = last ? 1 : 0;
  return n;
}

bytes aead_seal(const cipher_suite& s, byte_view key, byte_view plaintext) {
  std::unique_ptr<aead> a = s.make_aead(key);
  bytes out(plaintext.size() + a->tag_size());
  a->seal(zero_nonce, plaintext, out);
  return out;
}

// Returns false (and nothing) when the key does not authenticate the sealed bytes.
bool aead_open(const cipher_suite& s, byte_view key, byte_view sealed, secure_bytes& out) {
  std::unique_ptr<aead> a = s.make_aead(key);
  if (sealed.size() < a->tag_size()) return false;
  out = secure_bytes(sealed.size() - a->tag_size());
  return a->open(zero_nonce, sealed, out.span());
}

private_key rehearsal_signing_key(const cipher_suite& s, byte_view source, byte_view nonce) {
  const secure_bytes seed = derive(s, source, nonce, label_rehearsal_key, 32);
  return s.derive_signing_key(seed.view());
}

bytes commitment_of(const cipher_suite& s, byte_view salt, std::string_view summary_json,
                    byte_view body_digest) {
  std::unique_ptr<hasher> h = s.make_hasher();
  h->update(label_bytes(label_commitment));
  h->update(salt);
  writer w;
  w.u32(static_cast<std::uint32_t>(summary_json.size()));
  h->update(w.data());
  h->update(as_bytes(summary_json));
  h->update(body_digest);
  return h->finish();
}

// ---------------------------------------------------------------------------------------------
// Header encoding

bytes encode_header_body(const header& h) {
  writer w;
  w.raw(header_magic);
  w.u8(h.version);
  w.u8(static_cast<std::uint8_t>(h.suite));
  w.u8(static_cast<std::uint8_t>(h.policy));
  w.u8(static_cast<std::uint8_t>(h.stanzas.size()));
  w.u16(0);  // length, patched below
  w.u64(static_cast<std::uint64_t>(h.created_at));
  w.raw(h.payload_nonce);
  w.raw(h.key_check);
  w.str8(as_bytes(h.tender_id));
  w.str8(as_bytes(h.bidder_id));
  w.str8(as_bytes(h.tool_version));
  w.str8(h.rehearsal_public_key);
  for (const stanza& st : h.stanzas) {
    w.u8(static_cast<std::uint8_t>(st.type));
    w.str8(st.recipient);
    w.str8(st.ephemeral);
    w.str16(st.body);
  }
  bytes out = std::move(w.data());
  const std::size_t total = out.size() + mac_size;
  if (total > max_header_size) fail(codes::bad_params, "header would exceed its size limit");
  out[12] = static_cast<std::uint8_t>(total >> 8);
  out[13] = static_cast<std::uint8_t>(total);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Summary

std::string prepare_summary(std::string_view summary_json, const std::string& fingerprint,
                            const std::string& tool_version) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(summary_json, ec);
  if (ec || !v.is_object()) fail(codes::bad_summary, "the opening summary must be a JSON object");
  boost::json::object& obj = v.as_object();
  const auto set_reserved = [&](std::string_view key, const std::string& value) {
    if (const boost::json::value* old = obj.if_contains(key)) {
      if (!old->is_string() || old->as_string() != value) {
        fail(codes::bad_summary,
             std::string("summary field \"") + std::string(key) + "\" is set by the sealer");
      }
    }
    obj[key] = value;
  };
  set_reserved("machine_fingerprint", fingerprint);
  set_reserved("tool_version", tool_version);
  std::string out = boost::json::serialize(v);
  if (out.size() > max_summary_json_size)
    fail(codes::bad_summary, "the opening summary is too large");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Trailer

struct trailer_fields {
  std::uint64_t body_size = 0;
  std::uint64_t chunk_count = 0;
  bytes header_digest;
  bytes ciphertext_digest;
  bytes commitment;
  signer_kind kind = signer_kind::raw_key;
  bytes signer;
};

bytes encode_signed_trailer_part(const trailer_fields& f) {
  writer w;
  w.raw(trailer_magic);
  w.u64(f.body_size);
  w.u64(f.chunk_count);
  w.raw(f.header_digest);
  w.raw(f.ciphertext_digest);
  w.raw(f.commitment);
  w.u8(static_cast<std::uint8_t>(f.kind));
  w.str16(f.signer);
  return std::move(w.data());
}

bytes signature_message(byte_view signed_part) {
  return concat({label_bytes(label_signature), signed_part});
}

// The signer's public key named by a trailer, checked against the suite.
public_key signer_key_of(const trailer& t, suite_id suite, std::optional<bytes>& certificate) {
  const key_type want = get_suite(suite).signature_key_type();
  public_key key;
  try {
    if (t.kind == signer_kind::raw_key) {
      key = public_key::from_raw(want, t.signer);
    } else {
      key = x509::certificate::from_der(t.signer).subject_key();
      certificate = t.signer;
    }
  } catch (const error&) {
    fail(codes::bad_signer, "the signer key or certificate cannot be read");
  }
  if (key.type() != want) fail(codes::bad_signer, "the signer key does not fit the suite");
  return key;
}

// ---------------------------------------------------------------------------------------------
// Reading a file front to back

class file_reader {
public:
  explicit file_reader(std::istream& in) : in_(in) {}

  header read_header() {
    bytes buf(header_prefix_size);
    // A foreign file shorter than the magic is still a foreign file, not a truncated bid.
    in_.read(reinterpret_cast<char*>(buf.data()),
             static_cast<std::streamsize>(header_magic.size()));
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (in_.bad()) fail(codes::io_error, "error reading the sealed file");
    for (std::size_t i = 0; i < got && i < header_magic.size(); ++i) {
      if (buf[i] != header_magic[i]) fail(codes::bad_magic, "not a sealed bid file");
    }
    if (got < header_magic.size()) fail(codes::truncated, "the sealed file ends in its magic");
    read_exact(in_, std::span(buf).subspan(header_magic.size()));
    if (buf[8] != format_version) fail(codes::unsupported_version, "unsupported format version");
    const std::size_t length = (std::size_t{buf[12]} << 8) | buf[13];
    if (length < header_prefix_size + mac_size || length > max_header_size) {
      fail(codes::malformed_header, "header length out of range");
    }
    buf.resize(length);
    read_exact(in_, std::span(buf).subspan(header_prefix_size));
    offset_ += length;
    header h = parse_header(buf);
    suite_ = &get_suite(h.suite);
    return h;
  }

  // Starts hashing every byte read from here on (summary section and body).
  void start_ciphertext_hash() { ciphertext_hash_ = suite_->make_hasher(); }

  bytes read_summary_section() {
    std::uint8_t len_bytes[4];
    read_exact(in_, len_bytes);
    const std::uint32_t n = be32(len_bytes);
    if (n < salt_size + suite_->aead_tag_size() || n > max_summary_section) {
      fail(codes::malformed_summary, "summary section length out of range");
    }
    bytes sealed(n);
    read_exact(in_, sealed);
    hash(len_bytes);
    hash(sealed);
    summary_size_ = 4 + n;
    offset_ += summary_size_;
    return sealed;
  }

  // Reads the next chunk frame into `sealed` (ciphertext || tag), enforcing the framing rules;
  // the caller stops after the frame marked last.
  struct frame {
    std::uint64_t index;
    bool last;
    std::size_t length;  // plaintext length
  };
  frame read_frame(bytes& sealed) {
    std::uint8_t head[4];
    read_exact(in_, head);
    const std::uint32_t v = be32(head);
    frame f{chunk_count_, (v & last_chunk_bit) != 0, v & ~last_chunk_bit};
    if (f.length > chunk_size) fail(codes::malformed_body, "chunk longer than 64 KiB");
    if (!f.last && f.length != chunk_size)
      fail(codes::malformed_body, "short chunk before the end");
    if (f.last && f.length == 0 && f.index != 0) {
      fail(codes::malformed_body, "empty final chunk after other chunks");
    }
    sealed.resize(f.length + suite_->aead_tag_size());
    read_exact(in_, sealed);
    hash(head);
    hash(sealed);
    ++chunk_count_;
    body_plain_ += f.length;
    body_size_ += 4 + sealed.size();
    offset_ += 4 + sealed.size();
    return f;
  }

  trailer read_trailer() {
    std::array<std::uint8_t, 8> magic{};
    read_exact(in_, magic);
    if (magic != trailer_magic) {
      fail(codes::trailing_data, "data follows the final chunk where the trailer should start");
    }
    bytes fixed(8 + 8 + 3 * digest_size + 1 + 2);
    read_exact(in_, fixed);
    reader r(fixed, codes::malformed_trailer);
    trailer t;
    t.body_size = r.u64();
    t.chunk_count = r.u64();
    t.header_digest = bytes_of(r.take(digest_size));
    t.ciphertext_digest = bytes_of(r.take(digest_size));
    t.commitment = bytes_of(r.take(digest_size));
    const std::uint8_t kind = r.u8();
    if (kind != static_cast<std::uint8_t>(signer_kind::raw_key) &&
        kind != static_cast<std::uint8_t>(signer_kind::certificate)) {
      fail(codes::malformed_trailer, "unknown signer kind");
    }
    t.kind = static_cast<signer_kind>(kind);
    const std::size_t signer_len = r.u16();
    if (signer_len == 0 || signer_len > max_signer_size) {
      fail(codes::malformed_trailer, "signer field length out of range");
    }
    t.signer.resize(signer_len);
    read_exact(in_, t.signer);
    std::uint8_t sig_len_bytes[2];
    read_exact(in_, sig_len_bytes);
    const std::size_t sig_len = (std::size_t{sig_len_bytes[0]} << 8) | sig_len_bytes[1];
    if (sig_len == 0 || sig_len > max_signature_size) {
      fail(codes::malformed_trailer, "signature length out of range");
    }
    t.signature.resize(sig_len);
    read_exact(in_, t.signature);
    if (!at_eof(in_)) fail(codes::trailing_data, "data follows the trailer");
    t.encoded = concat({magic, fixed, t.signer, sig_len_bytes, t.signature});
    trailer_size_ = t.encoded.size();
    offset_ += trailer_size_;
    return t;
  }

  bytes ciphertext_digest() { return ciphertext_hash_->finish(); }
  std::uint64_t chunk_count() const { return chunk_count_; }
  std::uint64_t body_plaintext() const { return body_plain_; }
  std::uint64_t body_size() const { return body_size_; }
  std::uint64_t summary_size() const { return summary_size_; }
  std::uint64_t trailer_size() const { return trailer_size_; }
  std::uint64_t offset() const { return offset_; }

private:
  static bytes bytes_of(byte_view b) { return bytes(b.begin(), b.end()); }
  void hash(byte_view b) {
    if (ciphertext_hash_) ciphertext_hash_->update(b);
  }

  std::istream& in_;
  const cipher_suite* suite_ = nullptr;
  std::unique_ptr<hasher> ciphertext_hash_;
  std::uint64_t chunk_count_ = 0;
  std::uint64_t body_plain_ = 0;
  std::uint64_t body_size_ = 0;
  std::uint64_t summary_size_ = 0;
  std::uint64_t trailer_size_ = 0;
  std::uint64_t offset_ = 0;
};

file_layout layout_of(const header& h, const trailer& t, const file_reader& r) {
  file_layout l;
  l.hdr = h;
  l.tr = t;
  l.header_size = h.encoded.size();
  l.summary_section_size = r.summary_size();
  l.body_section_size = r.body_size();
  l.trailer_size = r.trailer_size();
  l.total_size = r.offset();
  return l;
}

// Checks the trailer against what was actually read and verifies the signature. The ciphertext
// digest is recomputed only when `hashed` (verify()); an opening instead binds the plaintext to
// the signature through the commitment, which is cheaper than hashing the ciphertext again.
verify_result check_trailer(const header& h, const trailer& t, file_reader& r, bool hashed) {
  const cipher_suite& s = get_suite(h.suite);
  verify_result v;
  if (t.chunk_count != r.chunk_count() || t.body_size != r.body_plaintext()) {
    fail(codes::malformed_trailer, "trailer sizes do not match the body");
  }
  v.header_digest = s.hash(h.encoded);
  if (!constant_time_equal(v.header_digest, t.header_digest)) {
    fail(codes::header_mismatch, "the trailer belongs to another header");
  }
  if (hashed) {
    v.ciphertext_digest = r.ciphertext_digest();
    if (!constant_time_equal(v.ciphertext_digest, t.ciphertext_digest)) {
      fail(codes::ciphertext_mismatch, "the sealed bytes differ from those the bidder signed");
    }
  } else {
    v.ciphertext_digest = t.ciphertext_digest;
  }
  v.signer_key = signer_key_of(t, h.suite, v.certificate);
  const std::size_t signed_len = t.encoded.size() - 2 - t.signature.size();
  const bytes msg = signature_message(byte_view(t.encoded).first(signed_len));
  if (!verify_message(v.signer_key, msg, t.signature)) {
    fail(codes::bad_signature, "the bidder's signature does not verify");
  }
  v.commitment = t.commitment;
  v.layout = layout_of(h, t, r);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Sealing

struct output_state {
  const seal_params* params = nullptr;
  std::ostream* out = nullptr;
  header hdr;
  std::unique_ptr<aead> payload;
  std::unique_ptr<hasher> ciphertext_hash;
  std::unique_ptr<background_hasher> ciphertext_worker;  // feeds ciphertext_hash
  public_key signer_public;
  std::uint64_t written = 0;

  // Writes `b`; when hashed, returns the hashing ticket (b must then stay unchanged until it is
  // done).
  std::uint64_t emit(byte_view b, bool hashed) {
    write_all(*out, b);
    written += b.size();
    return hashed ? ciphertext_worker->submit(b) : 0;
  }
};

void check_params(const seal_params& p) {
  check_id(p.tender_id, max_id_size, codes::bad_params, "tender id");
  check_id(p.bidder_id, max_id_size, codes::bad_params, "bidder id");
  check_id(p.tool_version, max_tool_version_size, codes::bad_params, "tool version");
  if (p.bidder_keys.empty() || p.bidder_keys.size() > max_bidder_stanzas) {
    fail(codes::bad_params, "1..7 bidder encryption keys are needed");
  }
  const cipher_suite& s = get_suite(p.suite);
  for (const public_key& k : p.bidder_keys) {
    if (k.empty() || k.type() != s.encryption_key_type()) {
      fail(codes::bad_params, "a bidder key does not fit the suite");
    }
  }
  const bool needs_escrow = p.policy != key_policy::bidder;
  if (needs_escrow != p.escrow_key.has_value()) {
    fail(codes::bad_params, needs_escrow ? "this key policy needs the escrow key"
                                         : "the bidder policy takes no escrow key");
  }
  if (p.escrow_key && (p.escrow_key->grp != escrow_group_of(p.suite) ||
                       p.escrow_key->point.size() != escrow_point_size(p.suite))) {
    fail(codes::bad_params, "the escrow key does not fit the suite");
  }
  if (p.escrow_key) {
    try {
      escrow::check_point(p.escrow_key->grp, p.escrow_key->point);
    } catch (const error&) {
      fail(codes::bad_params, "the escrow key is not a valid group element");
    }
  }
  if (p.signing_key.empty() || p.signing_key.type() != s.signature_key_type()) {
    fail(codes::bad_params, "the signing key does not fit the suite");
  }
  if (p.signing_certificate) {
    public_key cert_key;
    try {
      cert_key = x509::certificate::from_der(*p.signing_certificate).subject_key();
    } catch (const error&) {
      fail(codes::bad_params, "the signing certificate cannot be read");
    }
    if (!(cert_key == p.signing_key.public_part())) {
      fail(codes::bad_params, "the signing certificate is not the signing key's");
    }
    if (p.signing_certificate->size() > max_signer_size) {
      fail(codes::bad_params, "the signing certificate is too large");
    }
  }
}

stanza wrap_for_bidder(const cipher_suite& s, const public_key& recipient, byte_view key,
                       random_source& rng) {
  stanza st;
  st.type = bidder_stanza_type(s.id());
  st.recipient = recipient.raw();
  if (s.id() == suite_id::gm) {
    st.body = sm2_encrypt(recipient, key);
    return st;
  }
  secure_bytes e(crypto_scalarmult_SCALARBYTES);
  rng.fill(e.span());
  st.ephemeral.resize(crypto_scalarmult_BYTES);
  secure_bytes shared(crypto_scalarmult_BYTES);
  crypto_scalarmult_base(st.ephemeral.data(), e.data());
  if (crypto_scalarmult(shared.data(), e.data(), st.recipient.data()) != 0) {
    fail(codes::bad_params, "a bidder X25519 key is a low-order point");
  }
  const secure_bytes wrap = x25519_wrap_key(shared.view(), st.ephemeral, st.recipient);
  st.body = aead_seal(s, wrap.view(), key);
  return st;
}

stanza wrap_for_escrow(const cipher_suite& s, const escrow::public_key& y, byte_view key) {
  stanza st;
  st.type = escrow_stanza_type(s.id());
  st.recipient = y.point;
  escrow::encapsulation enc = escrow::encapsulate(y);
  st.ephemeral = enc.ephemeral;
  const secure_bytes wrap = escrow_wrap_key(s, enc.shared.view(), st.ephemeral, st.recipient);
  st.body = aead_seal(s, wrap.view(), key);
  return st;
}

// Builds the header and the per-output keys, and writes header and summary section.
output_state begin_output(const seal_params& p, std::ostream& out, random_source& rng,
                          std::int64_t created_at, byte_view salt, std::string_view summary) {
  const cipher_suite& s = get_suite(p.suite);
  output_state o;
  o.params = &p;
  o.out = &out;
  header& h = o.hdr;
  h.suite = p.suite;
  h.policy = p.policy;
  h.created_at = created_at;
  h.tender_id = p.tender_id;
  h.bidder_id = p.bidder_id;
  h.tool_version = p.tool_version;
  h.payload_nonce.resize(payload_nonce_size);
  rng.fill(h.payload_nonce);

  secure_bytes file_key(file_key_size);
  secure_bytes bidder_part(file_key_size);  // what the bidder stanzas wrap
  secure_bytes escrow_part;                 // what the escrow stanza wraps
  if (p.policy == key_policy::bidder_and_escrow) {
    rng.fill(bidder_part.span());
    escrow_part = secure_bytes(file_key_size);
    rng.fill(escrow_part.span());
    file_key = and_escrow_file_key(s, bidder_part.view(), escrow_part.view());
  } else {
    rng.fill(file_key.span());
    bidder_part = file_key.clone();
    if (p.policy == key_policy::bidder_or_escrow) escrow_part = file_key.clone();
  }

  h.key_check = key_check_of(s, file_key.view());
  h.rehearsal_public_key =
      rehearsal_signing_key(s, bidder_part.view(), h.payload_nonce).public_part().raw();
  for (const public_key& k : p.bidder_keys) {
    h.stanzas.push_back(wrap_for_bidder(s, k, bidder_part.view(), rng));
  }
  if (p.escrow_key) h.stanzas.push_back(wrap_for_escrow(s, *p.escrow_key, escrow_part.view()));
  check_stanza_set(h.stanzas, h.suite, h.policy);

  bytes encoded = encode_header_body(h);
  h.mac = header_mac_of(s, file_key.view(), encoded);
  encoded.insert(encoded.end(), h.mac.begin(), h.mac.end());
  h.encoded = std::move(encoded);

  o.ciphertext_hash = s.make_hasher();
  o.ciphertext_worker = std::make_unique<background_hasher>(*o.ciphertext_hash);
  o.signer_public = p.signing_key.public_part();
  o.emit(h.encoded, false);

  // Summary section: salt || JSON, sealed under its own key.
  const secure_bytes summary_key =
      derive(s, file_key.view(), h.payload_nonce, label_summary, s.aead_key_size());
  secure_bytes plain(salt.size() + summary.size());
  std::memcpy(plain.data(), salt.data(), salt.size());
  std::memcpy(plain.data() + salt.size(), summary.data(), summary.size());
  const bytes sealed_summary = aead_seal(s, summary_key.view(), plain.view());
  writer w;
  w.u32(static_cast<std::uint32_t>(sealed_summary.size()));
  w.raw(sealed_summary);
  o.emit(w.data(), true);

  const secure_bytes payload_key =
      derive(s, file_key.view(), h.payload_nonce, label_payload, s.aead_key_size());
  o.payload = s.make_aead(payload_key.view());
  return o;
}

seal_result finish_output(output_state& o, std::uint64_t chunks, std::uint64_t body_size,
                          const bytes& commitment) {
  const cipher_suite& s = get_suite(o.hdr.suite);
  const seal_params& p = *o.params;
  trailer_fields f;
  f.body_size = body_size;
  f.chunk_count = chunks;
  f.header_digest = s.hash(o.hdr.encoded);
  f.ciphertext_digest = o.ciphertext_worker->finish();
  f.commitment = commitment;
  if (p.signing_certificate) {
    f.kind = signer_kind::certificate;
    f.signer = *p.signing_certificate;
  } else {
    f.kind = signer_kind::raw_key;
    f.signer = o.signer_public.raw();
  }
  const bytes signed_part = encode_signed_trailer_part(f);
  const bytes sig = sign_message(p.signing_key, signature_message(signed_part));
  writer w;
  w.raw(signed_part);
  w.str16(sig);
  o.emit(w.data(), false);
  o.out->flush();
  if (!*o.out) fail(codes::io_error, "error writing the output");

  seal_result r;
  r.hdr = o.hdr;
  r.tr.body_size = f.body_size;
  r.tr.chunk_count = f.chunk_count;
  r.tr.header_digest = f.header_digest;
  r.tr.ciphertext_digest = f.ciphertext_digest;
  r.tr.commitment = f.commitment;
  r.tr.kind = f.kind;
  r.tr.signer = f.signer;
  r.tr.signature = sig;
  r.tr.encoded = std::move(w.data());
  r.file_size = o.written;
  return r;
}

std::vector<seal_result> seal_outputs(const std::vector<const seal_params*>& params,
                                      const std::vector<std::ostream*>& outs,
                                      std::string_view summary_json, std::istream& body) {
  for (const seal_params* p : params)
    check_params(*p);
  // A stream that failed before we start (a file that did not open) must not seal as empty.
  if (!body) fail(codes::io_error, "the plaintext stream is not readable");
  for (const std::ostream* o : outs) {
    if (!*o) fail(codes::io_error, "the output stream is not writable");
  }
  const seal_params& first = *params.front();
  const cipher_suite& s = get_suite(first.suite);
  random_source& rng = first.rng != nullptr ? *first.rng : system_random();
  const std::int64_t created_at =
      first.created_at.value_or(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  if (created_at < 0) fail(codes::bad_params, "creation time before 1970");
  const std::string summary = prepare_summary(
      summary_json, first.machine_fingerprint.value_or(machine_fingerprint()), first.tool_version);
  bytes salt(salt_size);
  rng.fill(salt);

  // The rings are declared before anything that hashes from them, so that on an exception the
  // hashing threads stop before the buffers go away.
  const std::size_t tag = s.aead_tag_size();
  std::vector<secure_bytes> plain_ring;
  for (std::size_t i = 0; i < pipeline_depth; ++i)
    plain_ring.emplace_back(chunk_size);
  std::vector<std::vector<bytes>> frame_rings(
      params.size(), std::vector<bytes>(pipeline_depth, bytes(4 + chunk_size + tag)));
  std::array<std::uint64_t, pipeline_depth> plain_ticket{};
  std::vector<std::array<std::uint64_t, pipeline_depth>> frame_ticket(params.size());
  std::unique_ptr<hasher> plain_hash = s.make_hasher();
  background_hasher plain_worker(*plain_hash);

  std::vector<output_state> states;
  for (std::size_t i = 0; i < params.size(); ++i) {
    states.push_back(begin_output(*params[i], *outs[i], rng, created_at, salt, summary));
  }

  // Body: one chunk of lookahead decides which chunk is the last; an empty body is one empty
  // final chunk. Chunk j lives in ring slot j % pipeline_depth until both of its hashes are done.
  const auto plain_slot = [&](std::uint64_t j) -> secure_bytes& {
    const std::size_t k = static_cast<std::size_t>(j % pipeline_depth);
    plain_worker.wait(plain_ticket[k]);
    return plain_ring[k];
  };
  std::size_t current_len = read_up_to(body, plain_slot(0).span());
  std::uint64_t index = 0;
  std::uint64_t body_size = 0;
  for (;;) {
    const std::size_t slot = static_cast<std::size_t>(index % pipeline_depth);
    std::size_t next_len = 0;
    if (current_len == chunk_size) {
      next_len = read_up_to(body, plain_slot(index + 1).span());
      // More than one chunk: worth overlapping the hashing with the cipher.
      if (next_len > 0 && index == 0 && first.parallel_hashing) {
        plain_worker.start();
        for (output_state& o : states)
          o.ciphertext_worker->start();
      }
    }
    const bool last = current_len < chunk_size || next_len == 0;
    const byte_view plain = plain_ring[slot].view().first(current_len);
    const aead_nonce nonce = chunk_nonce(index, last);
    const std::uint32_t head =
        static_cast<std::uint32_t>(current_len) | (last ? last_chunk_bit : 0);
    for (std::size_t i = 0; i < states.size(); ++i) {
      output_state& o = states[i];
      o.ciphertext_worker->wait(frame_ticket[i][slot]);
      bytes& frame = frame_rings[i][slot];
      for (int b = 0; b < 4; ++b)
        frame[b] = static_cast<std::uint8_t>(head >> (24 - 8 * b));
      const std::span<std::uint8_t> sealed(frame.data() + 4, current_len + tag);
      o.payload->seal(nonce, plain, sealed);
      frame_ticket[i][slot] = o.emit(byte_view(frame).first(4 + current_len + tag), true);
    }
    plain_ticket[slot] = plain_worker.submit(plain);
    ++index;
    body_size += current_len;
    if (last) break;
    current_len = next_len;
  }
  const bytes body_digest = plain_worker.finish();
  const bytes commitment = commitment_of(s, salt, summary, body_digest);

  std::vector<seal_result> results;
  for (output_state& o : states)
    results.push_back(finish_output(o, index, body_size, commitment));
  return results;
}

// verify_body and open_body: everything but the ciphertext digest (see check_trailer).
open_result open_file(std::istream& file, byte_view file_key, std::ostream* out,
                      const open_options& options) {
  file_reader r(file);
  const header h = r.read_header();
  const cipher_suite& s = get_suite(h.suite);
  check_file_key(h, file_key);

  open_result result;
  {
    const bytes sealed_summary = r.read_summary_section();
    const secure_bytes summary_key =
        derive(s, file_key, h.payload_nonce, label_summary, s.aead_key_size());
    secure_bytes plain;
    if (!aead_open(s, summary_key.view(), sealed_summary, plain)) {
      fail(codes::summary_auth_failed, "the summary section does not authenticate");
    }
    result.summary = parse_summary_plaintext(plain.view());
  }

  const secure_bytes payload_key =
      derive(s, file_key, h.payload_nonce, label_payload, s.aead_key_size());
  std::unique_ptr<aead> payload = s.make_aead(payload_key.view());
  // The plaintext ring outlives the hashing thread that reads from it (declaration order).
  std::vector<secure_bytes> plain_ring;
  for (std::size_t i = 0; i < pipeline_depth; ++i)
    plain_ring.emplace_back(chunk_size);
  std::array<std::uint64_t, pipeline_depth> ticket{};
  std::unique_ptr<hasher> plain_hash = s.make_hasher();
  background_hasher plain_worker(*plain_hash);
  bytes sealed;
  for (;;) {
    const file_reader::frame f = r.read_frame(sealed);
    const std::size_t slot = static_cast<std::size_t>(f.index % pipeline_depth);
    plain_worker.wait(ticket[slot]);
    const std::span<std::uint8_t> chunk = plain_ring[slot].span().first(f.length);
    if (!payload->open(chunk_nonce(f.index, f.last), sealed, chunk)) {
      fail(codes::chunk_auth_failed, "chunk " + std::to_string(f.index) + " does not authenticate");
    }
    if (out != nullptr) write_all(*out, chunk);
    if (options.check_commitment) {
      if (f.index == 0 && !f.last && options.parallel_hashing) plain_worker.start();
      ticket[slot] = plain_worker.submit(chunk);
    }
    if (f.last) break;
  }
  const trailer t = r.read_trailer();
  result.verified = check_trailer(h, t, r, false);
  const bytes body_digest = plain_worker.finish();
  if (options.check_commitment &&
      !constant_time_equal(commitment_of(s, result.summary.salt, result.summary.json, body_digest),
                           t.commitment)) {
    fail(codes::commitment_mismatch, "the plaintext does not match the sealed commitment");
  }
  result.body_size = r.body_plaintext();
  if (out != nullptr) {
    out->flush();
    if (!*out) fail(codes::io_error, "error writing the plaintext");
  }
  return result;
}

}  // namespace

// =============================================================================================
// Public API

std::string_view policy_name(key_policy p) {
  switch (p) {
    case key_policy::bidder:
      return "bidder";
    case key_policy::bidder_or_escrow:
      return "bidder-or-escrow";
    case key_policy::bidder_and_escrow:
      return "bidder-and-escrow";
  }
  return "unknown";
}

key_policy policy_from_name(std::string_view name) {
  if (name == "bidder") return key_policy::bidder;
  if (name == "bidder-or-escrow") return key_policy::bidder_or_escrow;
  if (name == "bidder-and-escrow") return key_policy::bidder_and_escrow;
  fail(codes::bad_params, "unknown key policy");
}

const stanza* header::escrow_stanza() const {
  for (const stanza& st : stanzas) {
    if (st.is_escrow()) return &st;
  }
  return nullptr;
}

header parse_header(byte_view encoded) {
  const char* code = codes::malformed_header;
  if (encoded.size() < header_magic.size() ||
      !std::equal(header_magic.begin(), header_magic.end(), encoded.begin())) {
    fail(codes::bad_magic, "not a sealed bid file");
  }
  if (encoded.size() > max_header_size) fail(code, "header too large");
  reader r(encoded, code);
  r.take(header_magic.size());
  header h;
  h.version = r.u8();
  if (h.version != format_version) fail(codes::unsupported_version, "unsupported format version");
  try {
    h.suite = suite_from_byte(r.u8());
  } catch (const error&) {
    fail(code, "unknown suite");
  }
  const std::uint8_t policy = r.u8();
  if (policy < 1 || policy > 3) fail(code, "unknown key policy");
  h.policy = static_cast<key_policy>(policy);
  const std::size_t count = r.u8();
  if (count == 0 || count > max_stanzas) fail(code, "stanza count out of range");
  const std::size_t length = r.u16();
  if (length != encoded.size()) fail(code, "header length field does not match the header");
  const std::uint64_t created = r.u64();
  if (created > static_cast<std::uint64_t>(INT64_MAX)) fail(code, "creation time out of range");
  h.created_at = static_cast<std::int64_t>(created);
  const byte_view nonce = r.take(payload_nonce_size);
  h.payload_nonce.assign(nonce.begin(), nonce.end());
  const byte_view kc = r.take(key_check_size);
  h.key_check.assign(kc.begin(), kc.end());
  const auto text = [&](std::size_t max, const char* what) {
    const bytes b = r.str8();
    const std::string s(b.begin(), b.end());
    check_id(s, max, code, what);
    return s;
  };
  h.tender_id = text(max_id_size, "tender id");
  h.bidder_id = text(max_id_size, "bidder id");
  h.tool_version = text(max_tool_version_size, "tool version");
  h.rehearsal_public_key = r.str8();
  if (h.rehearsal_public_key.size() != rehearsal_key_size(h.suite)) {
    fail(code, "rehearsal key has the wrong size");
  }
  if (h.suite == suite_id::gm && h.rehearsal_public_key[0] != 0x04) {
    fail(code, "SM2 rehearsal key must be an uncompressed point");
  }
  const std::size_t tag = get_suite(h.suite).aead_tag_size();
  for (std::size_t i = 0; i < count; ++i) {
    stanza st;
    const std::uint8_t type = r.u8();
    if (type < 1 || type > 4) fail(code, "unknown stanza type");
    st.type = static_cast<stanza_type>(type);
    st.recipient = r.str8();
    st.ephemeral = r.str8();
    st.body = r.str16();
    check_stanza_shape(st, h.suite, tag);
    h.stanzas.push_back(std::move(st));
  }
  check_stanza_set(h.stanzas, h.suite, h.policy);
  const byte_view mac = r.take(mac_size);
  h.mac.assign(mac.begin(), mac.end());
  if (!r.done()) fail(code, "bytes after the header MAC");
  h.encoded.assign(encoded.begin(), encoded.end());
  return h;
}

bytes header_digest(const header& h) {
  return get_suite(h.suite).hash(h.encoded);
}

seal_result seal(const seal_params& params, std::string_view summary_json, std::istream& body,
                 std::ostream& out) {
  std::vector<seal_result> r = seal_outputs({&params}, {&out}, summary_json, body);
  return std::move(r.front());
}

sealed_pair seal_with_backup(const seal_params& primary, const seal_params& backup,
                             std::string_view summary_json, std::istream& body, std::ostream& out,
                             std::ostream& backup_out) {
  if (primary.suite != backup.suite || primary.tender_id != backup.tender_id ||
      primary.bidder_id != backup.bidder_id || primary.signing_key.empty() ||
      backup.signing_key.empty() ||
      !(primary.signing_key.public_part() == backup.signing_key.public_part())) {
    fail(codes::bad_params, "a backup must have the primary's suite, tender, bidder and signer");
  }
  std::vector<seal_result> r =
      seal_outputs({&primary, &backup}, {&out, &backup_out}, summary_json, body);
  return sealed_pair{std::move(r[0]), std::move(r[1])};
}

std::string machine_fingerprint() {
  std::string id;
  for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    std::ifstream f(path);
    if (f && std::getline(f, id) && !id.empty()) break;
    id.clear();
  }
  // A machine without an id (some containers) still gets a stable, recognisable value.
  if (id.empty()) id = "unknown";
  const bytes input = concat({label_bytes(label_machine), as_bytes(id)});
  return to_hex(sha256(input));
}

file_layout inspect(std::istream& file) {
  file_reader r(file);
  const header h = r.read_header();
  r.read_summary_section();
  bytes sealed;
  while (!r.read_frame(sealed).last) {
  }
  const trailer t = r.read_trailer();
  return layout_of(h, t, r);
}

verify_result verify(std::istream& file, const public_key* expected_signer) {
  file_reader r(file);
  const header h = r.read_header();
  r.start_ciphertext_hash();
  r.read_summary_section();
  bytes sealed;
  while (!r.read_frame(sealed).last) {
  }
  const trailer t = r.read_trailer();
  verify_result v = check_trailer(h, t, r, true);
  if (expected_signer != nullptr && !(v.signer_key == *expected_signer)) {
    fail(codes::bad_signer, "the file is signed by another key");
  }
  return v;
}

void check_file_key(const header& h, byte_view file_key) {
  const cipher_suite& s = get_suite(h.suite);
  if (file_key.size() != file_key_size ||
      !constant_time_equal(key_check_of(s, file_key), h.key_check)) {
    fail(codes::wrong_key, "the key is not this file's key");
  }
  const byte_view body = byte_view(h.encoded).first(h.encoded.size() - mac_size);
  if (!constant_time_equal(header_mac_of(s, file_key, body), h.mac)) {
    fail(codes::header_mac, "the header was altered");
  }
}

unwrapped_key unwrap_bidder(const header& h, const private_key& bidder_key) {
  const cipher_suite& s = get_suite(h.suite);
  if (bidder_key.empty() || bidder_key.type() != s.encryption_key_type()) {
    fail(codes::wrong_key, "the key does not fit the file's suite");
  }
  const bytes me = bidder_key.public_part().raw();
  const auto it = std::find_if(h.stanzas.begin(), h.stanzas.end(), [&](const stanza& st) {
    return !st.is_escrow() && st.recipient == me;
  });
  if (it == h.stanzas.end()) fail(codes::wrong_key, "no stanza is addressed to this key");

  secure_bytes key;
  if (s.id() == suite_id::gm) {
    try {
      key = sm2_decrypt(bidder_key, it->body);
    } catch (const error&) {
      fail(codes::bad_stanza, "the SM2 stanza does not decrypt");
    }
  } else {
    secure_bytes shared;
    try {
      shared = x25519_shared_secret(bidder_key, it->ephemeral);
    } catch (const error&) {
      fail(codes::bad_stanza, "the X25519 stanza has a low-order ephemeral key");
    }
    const secure_bytes wrap = x25519_wrap_key(shared.view(), it->ephemeral, it->recipient);
    if (!aead_open(s, wrap.view(), it->body, key)) {
      fail(codes::bad_stanza, "the X25519 stanza does not decrypt");
    }
  }
  if (key.size() != file_key_size) fail(codes::bad_stanza, "the stanza holds no 32-byte key");

  unwrapped_key result;
  if (h.policy == key_policy::bidder_and_escrow) {
    result.kind = key_kind::bidder_part;
    // The part alone cannot be checked against the key check, but it must reproduce the
    // rehearsal key in the header — which is exactly what the rehearsal proves.
    const private_key rk = rehearsal_signing_key(s, key.view(), h.payload_nonce);
    if (rk.public_part().raw() != h.rehearsal_public_key) {
      fail(codes::header_mac, "the stanza's key does not fit the header");
    }
  } else {
    result.kind = key_kind::file_key;
    try {
      check_file_key(h, key.view());
    } catch (const error&) {
      // The stanza decrypted, so the key is genuinely in it: the header was tampered with (or
      // the sealer put different keys in different stanzas).
      fail(codes::header_mac, "the stanza's key does not fit the header");
    }
  }
  result.key = std::move(key);
  return result;
}

bytes escrow_ephemeral(const header& h) {
  const stanza* st = h.escrow_stanza();
  if (st == nullptr) fail(codes::bad_params, "this file has no escrow stanza");
  return st->ephemeral;
}

escrow::public_key escrow_recipient(const header& h) {
  const stanza* st = h.escrow_stanza();
  if (st == nullptr) fail(codes::bad_params, "this file has no escrow stanza");
  return escrow::public_key{escrow_group_of(h.suite), st->recipient};
}

secure_bytes file_key_from_parts(const header& h, byte_view bidder_part, byte_view escrow_part) {
  if (h.policy != key_policy::bidder_and_escrow) {
    fail(codes::bad_params, "only bidder-and-escrow files have key parts");
  }
  if (bidder_part.size() != file_key_size || escrow_part.size() != file_key_size) {
    fail(codes::wrong_key, "key parts are 32 bytes");
  }
  secure_bytes key = and_escrow_file_key(get_suite(h.suite), bidder_part, escrow_part);
  check_file_key(h, key.view());
  return key;
}

secure_bytes file_key_from_escrow(const header& h, byte_view shared_secret,
                                  std::optional<byte_view> bidder_part) {
  const stanza* st = h.escrow_stanza();
  if (st == nullptr) fail(codes::bad_params, "this file has no escrow stanza");
  if (h.policy == key_policy::bidder_and_escrow && !bidder_part) {
    fail(codes::bad_params, "bidder-and-escrow needs the bidder's part too");
  }
  const cipher_suite& s = get_suite(h.suite);
  const secure_bytes wrap = escrow_wrap_key(s, shared_secret, st->ephemeral, st->recipient);
  secure_bytes part;
  if (!aead_open(s, wrap.view(), st->body, part)) {
    fail(codes::wrong_key, "the escrow secret does not open the escrow stanza");
  }
  if (h.policy == key_policy::bidder_and_escrow) {
    return file_key_from_parts(h, *bidder_part, part.view());
  }
  try {
    check_file_key(h, part.view());
  } catch (const error&) {
    fail(codes::header_mac, "the escrow stanza's key does not fit the header");
  }
  return part;
}

opened_summary parse_summary_plaintext(byte_view plaintext) {
  if (plaintext.size() < salt_size + 2 || plaintext.size() > salt_size + max_summary_json_size) {
    fail(codes::malformed_summary, "summary plaintext size out of range");
  }
  opened_summary s;
  s.salt.assign(plaintext.begin(), plaintext.begin() + salt_size);
  s.json.assign(reinterpret_cast<const char*>(plaintext.data()) + salt_size,
                plaintext.size() - salt_size);
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(s.json, ec);
  if (ec || !v.is_object()) fail(codes::malformed_summary, "the summary is not a JSON object");
  return s;
}

opened_summary open_summary(std::istream& file, byte_view file_key) {
  file_reader r(file);
  const header h = r.read_header();
  check_file_key(h, file_key);
  const cipher_suite& s = get_suite(h.suite);
  const bytes sealed_summary = r.read_summary_section();
  const secure_bytes summary_key =
      derive(s, file_key, h.payload_nonce, label_summary, s.aead_key_size());
  secure_bytes plain;
  if (!aead_open(s, summary_key.view(), sealed_summary, plain)) {
    fail(codes::summary_auth_failed, "the summary section does not authenticate");
  }
  return parse_summary_plaintext(plain.view());
}

open_result verify_body(std::istream& file, byte_view file_key, const open_options& options) {
  return open_file(file, file_key, nullptr, options);
}

open_result open_body(std::istream& file, byte_view file_key, std::ostream& out,
                      const open_options& options) {
  return open_file(file, file_key, &out, options);
}

// ---------------------------------------------------------------------------------------------
// Rehearsal

namespace {

bytes rehearsal_message(byte_view challenge) {
  if (challenge.empty() || challenge.size() > max_challenge_size) {
    fail(codes::bad_challenge, "rehearsal challenges are 1..1024 bytes");
  }
  return concat({label_bytes(label_rehearsal), challenge});
}

}  // namespace

bytes rehearsal_key::sign(byte_view challenge) const {
  return sign_message(key_, rehearsal_message(challenge));
}

rehearsal_key derive_rehearsal_key(const header& h, byte_view key_material) {
  if (key_material.size() != file_key_size) fail(codes::wrong_key, "key material is 32 bytes");
  rehearsal_key k;
  k.suite_ = h.suite;
  k.key_ = rehearsal_signing_key(get_suite(h.suite), key_material, h.payload_nonce);
  if (k.key_.public_part().raw() != h.rehearsal_public_key) {
    fail(codes::wrong_key, "this key does not derive the file's rehearsal key");
  }
  return k;
}

bytes sign_rehearsal(const rehearsal_key& key, byte_view challenge) {
  return key.sign(challenge);
}

bool verify_rehearsal(const header& h, byte_view challenge, byte_view signature) {
  const public_key pub =
      public_key::from_raw(get_suite(h.suite).signature_key_type(), h.rehearsal_public_key);
  return verify_message(pub, rehearsal_message(challenge), signature);
}

// ---------------------------------------------------------------------------------------------
// Backup check

void backup_check(const verify_result& a, const verify_result& b) {
  const header& ha = a.layout.hdr;
  const header& hb = b.layout.hdr;
  if (ha.suite != hb.suite || ha.tender_id != hb.tender_id || ha.bidder_id != hb.bidder_id) {
    fail(codes::backup_mismatch, "the backup is for another suite, tender or bidder");
  }
  if (!(a.signer_key == b.signer_key)) {
    fail(codes::backup_mismatch, "the backup is signed by another key");
  }
  if (!constant_time_equal(a.commitment, b.commitment)) {
    fail(codes::backup_mismatch, "the backup was not made with this sealed file");
  }
}

backup_check_result backup_check(std::istream& sealed_file, std::istream& backup_file) {
  backup_check_result r;
  r.sealed = verify(sealed_file);
  r.backup = verify(backup_file);
  backup_check(r.sealed, r.backup);
  r.commitment = r.sealed.commitment;
  return r;
}

}  // namespace tender::crypto::sealed
