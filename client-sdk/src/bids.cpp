// The bid submission calls of the client: tus uploads (create, HEAD, PATCH from a file, DELETE),
// status and receipt, the caller's bid, withdrawal, rehearsal, the list of bids and the seal.

#include <tender/client/bids.hpp>

#include <tender/protocol/uri.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include "answer_fields.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <fstream>

namespace tender::client::bids {
namespace json = boost::json;

namespace {

using detail::bad_shape;
using detail::field;
using detail::num;
using detail::object_of;
using detail::opt_str;
using detail::str;

std::uint64_t unum(const json::object& o, std::string_view key, std::string_view what) {
  const auto v = num(o, key, what);
  if (v < 0) bad_shape(what);
  return static_cast<std::uint64_t>(v);
}

bool boolean(const json::object& o, std::string_view key, std::string_view what) {
  const auto& v = field(o, key, what);
  if (!v.is_bool()) bad_shape(what);
  return v.get_bool();
}

const json::array& arr(const json::object& o, std::string_view key, std::string_view what) {
  const auto& v = field(o, key, what);
  if (!v.is_array()) bad_shape(what);
  return v.get_array();
}

std::string raw_base64(std::string_view text, std::string_view what) {
  try {
    const auto b = crypto::base64_decode(text);
    return {b.begin(), b.end()};
  } catch (const crypto::error&) {
    bad_shape(what);
  }
}

std::string b64(std::string_view raw) {
  return crypto::base64_encode(crypto::as_bytes(raw));
}

std::optional<std::uint64_t> decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string lot_path(const std::string& tender_id, int lot) {
  return "/api/v1/tenders/" + protocol::percent_encode(tender_id) + "/lots/" + std::to_string(lot);
}

std::string upload_path(const std::string& upload_id) {
  return "/api/v1/uploads/" + protocol::percent_encode(upload_id);
}

header_list tus_headers() {
  return {{"Tus-Resumable", tus_version}};
}

std::uint64_t offset_header(const http_response& r, std::string_view what) {
  const auto v = decimal(r.header("Upload-Offset"));
  if (!v) bad_shape(what);
  return *v;
}

}  // namespace

std::string subject(const std::string& tender_id, int lot) {
  return tender_id + "/" + std::to_string(lot);
}

server_capabilities capabilities(client& c) {
  constexpr std::string_view what = "OPTIONS /api/v1/uploads";
  const auto r = c.request("OPTIONS", "/api/v1/uploads", {}, "application/json", tus_headers());
  expect_status(r, 204);
  server_capabilities out;
  out.tus_version = r.header("Tus-Version");
  const auto e = r.header("Tus-Extension");
  std::string_view ext = e;
  while (!ext.empty()) {
    const auto comma = ext.find(',');
    out.extensions.emplace_back(ext.substr(0, comma));
    if (comma == std::string_view::npos) break;
    ext.remove_prefix(comma + 1);
  }
  const auto max = decimal(r.header("Tus-Max-Size"));
  if (!max) bad_shape(what);
  out.max_size = *max;
  return out;
}

upload_created create_upload(client& c, const std::string& tender_id, int lot, std::uint64_t length,
                             const std::string& filename, const std::string& client_version) {
  constexpr std::string_view what = "POST /api/v1/tenders/{id}/lots/{lot}/uploads";
  auto headers = tus_headers();
  headers.emplace_back("Upload-Length", std::to_string(length));
  std::string meta;
  if (!filename.empty()) meta = "filename " + b64(filename);
  if (!client_version.empty()) {
    meta += (meta.empty() ? "" : ",") + std::string("client ") + b64(client_version);
    headers.emplace_back("Tender-Client", client_version);
  }
  if (!meta.empty()) headers.emplace_back("Upload-Metadata", meta);
  const auto r =
      c.request("POST", lot_path(tender_id, lot) + "/uploads", {}, "application/json", headers);
  expect_status(r, 201);
  const auto o = object_of(r.body, what);
  return {str(o, "upload_id", what), str(o, "location", what), unum(o, "length", what),
          unum(o, "offset", what)};
}

upload_offset head(client& c, const std::string& upload_id) {
  constexpr std::string_view what = "HEAD /api/v1/uploads/{id}";
  const auto r = c.request("HEAD", upload_path(upload_id), {}, "application/json", tus_headers());
  if (r.status != 200) {
    // A HEAD answer has no body: the code is in a header (or, from another server, only the
    // status says what went wrong).
    std::string code = r.header("Tender-Error-Code");
    if (code.empty()) {
      code = r.status == 404   ? "upload.not_found"
             : r.status == 410 ? "upload.gone"
             : r.status == 412 ? "upload.unsupported_version"
             : r.status == 401 ? "auth.required"
                               : "client.bad_response";
    }
    throw error(code, "HEAD of upload '" + upload_id + "' answered " + std::to_string(r.status),
                r.status);
  }
  const auto length = decimal(r.header("Upload-Length"));
  if (!length) bad_shape(what);
  return {offset_header(r, what), *length};
}

patch_result patch(client& c, const std::string& upload_id, std::uint64_t offset,
                   std::string_view bytes) {
  constexpr std::string_view what = "PATCH /api/v1/uploads/{id}";
  auto headers = tus_headers();
  headers.emplace_back("Upload-Offset", std::to_string(offset));
  const auto r =
      c.request("PATCH", upload_path(upload_id), bytes, "application/offset+octet-stream", headers);
  expect_status(r, 204);
  patch_result out;
  out.offset = offset_header(r, what);
  if (const auto loc = r.header("Tender-Bid-Receipt"); !loc.empty()) out.receipt_location = loc;
  return out;
}

patch_result send_file(client& c, const std::string& upload_id, const std::filesystem::path& file,
                       const progress_fn& progress, std::size_t chunk_size) {
  if (chunk_size == 0) chunk_size = std::size_t{8} << 20;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw error("client.io_error", "cannot open '" + file.string() + "'");
  const auto size = static_cast<std::uint64_t>(std::filesystem::file_size(file));
  const auto at = head(c, upload_id);
  if (at.length != size) {
    throw error("client.io_error", "'" + file.string() + "' has " + std::to_string(size) +
                                       " bytes but the upload expects " +
                                       std::to_string(at.length));
  }
  patch_result last;
  last.offset = at.offset;
  if (progress) progress(at.offset, size);
  std::string buf;
  while (last.offset < size) {
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, size - last.offset));
    buf.resize(n);
    in.seekg(static_cast<std::streamoff>(last.offset));
    in.read(buf.data(), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in.gcount()) != n) {
      throw error("client.io_error", "cannot read '" + file.string() + "'");
    }
    last = patch(c, upload_id, last.offset, buf);
    if (progress) progress(last.offset, size);
  }
  return last;
}

void terminate(client& c, const std::string& upload_id) {
  const auto r = c.request("DELETE", upload_path(upload_id), {}, "application/json", tus_headers());
  expect_status(r, 204);
}

receipt parse_receipt(std::string_view text) {
  constexpr std::string_view what = "a bid receipt";
  const auto o = object_of(text, what);
  if (str(o, "type", what) != "tenderhall.bid_receipt" || num(o, "version", what) != 1) {
    bad_shape(what);
  }
  receipt out;
  out.json = std::string(text);
  out.note = str(o, "note", what);
  out.log_index = unum(o, "log_index", what);
  out.leaf_data = raw_base64(str(o, "leaf_data", what), what);
  out.payload = str(o, "payload", what);
  for (const auto& h : arr(o, "inclusion_proof", what)) {
    if (!h.is_string()) bad_shape(what);
    out.inclusion_proof.push_back(raw_base64(h.get_string(), what));
  }
  out.checkpoint = str(o, "checkpoint", what);
  return out;
}

upload_status status(client& c, const std::string& upload_id) {
  constexpr std::string_view what = "GET /api/v1/uploads/{id}";
  const auto r = c.request("GET", upload_path(upload_id), {}, "application/json", tus_headers());
  expect_status(r, 200);
  const auto o = object_of(r.body, what);
  upload_status out;
  out.upload_id = str(o, "upload_id", what);
  out.tender_id = str(o, "tender_id", what);
  out.lot = static_cast<int>(num(o, "lot", what));
  out.state = str(o, "state", what);
  out.length = unum(o, "length", what);
  out.offset = unum(o, "offset", what);
  out.reject_code = opt_str(o, "reject_code", what);
  out.reject_message = opt_str(o, "reject_message", what);
  if (const auto* rc = o.if_contains("receipt"); rc != nullptr && rc->is_object()) {
    out.bid_receipt = parse_receipt(json::serialize(*rc));
  }
  return out;
}

receipt get_receipt(client& c, const std::string& upload_id) {
  const auto r = c.request("GET", upload_path(upload_id) + "/receipt");
  expect_status(r, 200);
  return parse_receipt(r.body);
}

receipt upload_file(client& c, const std::string& tender_id, int lot,
                    const std::filesystem::path& sealed_file, const progress_fn& progress,
                    const std::optional<std::string>& resume_upload_id,
                    const std::string& client_version) {
  std::string id;
  if (resume_upload_id) {
    id = *resume_upload_id;
  } else {
    const auto size = static_cast<std::uint64_t>(std::filesystem::file_size(sealed_file));
    id = create_upload(c, tender_id, lot, size, sealed_file.filename().string(), client_version)
             .upload_id;
  }
  const auto last = send_file(c, id, sealed_file, progress);
  (void)last;
  return get_receipt(c, id);
}

my_bid mine(client& c, const std::string& tender_id, int lot) {
  constexpr std::string_view what = "GET /api/v1/tenders/{id}/lots/{lot}/bids/mine";
  const auto r = c.request("GET", lot_path(tender_id, lot) + "/bids/mine");
  expect_status(r, 200);
  const auto o = object_of(r.body, what);
  my_bid out;
  out.bid_id = num(o, "bid_id", what);
  out.tender_id = str(o, "tender_id", what);
  out.lot = static_cast<int>(num(o, "lot", what));
  out.status = str(o, "status", what);
  out.upload_id = str(o, "upload_id", what);
  out.file_digest = str(o, "file_digest", what);
  out.ciphertext_digest = str(o, "ciphertext_digest", what);
  out.size = unum(o, "size", what);
  out.received_at = str(o, "received_at", what);
  out.log_index = unum(o, "log_index", what);
  out.rehearsed = boolean(o, "rehearsed", what);
  out.rehearsed_at = opt_str(o, "rehearsed_at", what);
  if (const auto* rc = o.if_contains("receipt"); rc != nullptr && rc->is_object()) {
    out.bid_receipt = parse_receipt(json::serialize(*rc));
  }
  return out;
}

withdrawal withdraw(client& c, const std::string& tender_id, int lot) {
  constexpr std::string_view what = "DELETE /api/v1/tenders/{id}/lots/{lot}/bids/mine";
  const auto r = c.request("DELETE", lot_path(tender_id, lot) + "/bids/mine");
  expect_status(r, 200);
  const auto o = object_of(r.body, what);
  return {str(o, "withdrawn_at", what), unum(o, "log_index", what)};
}

rehearsal_challenge rehearsal_challenge_for(client& c, const std::string& tender_id, int lot) {
  constexpr std::string_view what = "POST .../bids/mine/rehearsal-challenge";
  const auto r = c.request("POST", lot_path(tender_id, lot) + "/bids/mine/rehearsal-challenge");
  expect_status(r, 201);
  const auto o = object_of(r.body, what);
  return {str(o, "challenge_id", what), raw_base64(str(o, "challenge", what), what),
          str(o, "expires_at", what)};
}

rehearsal_confirmation confirm_rehearsal(client& c, const std::string& tender_id, int lot,
                                         const std::string& challenge_id,
                                         std::string_view signature) {
  constexpr std::string_view what = "POST .../bids/mine/rehearsal";
  const json::object body{{"challenge_id", challenge_id}, {"signature", b64(signature)}};
  const auto r =
      c.request("POST", lot_path(tender_id, lot) + "/bids/mine/rehearsal", json::serialize(body));
  expect_status(r, 200);
  const auto o = object_of(r.body, what);
  return {str(o, "confirmation", what), str(o, "rehearsed_at", what), unum(o, "log_index", what)};
}

bid_list list(client& c, const std::string& tender_id, int lot) {
  constexpr std::string_view what = "GET /api/v1/tenders/{id}/lots/{lot}/bids";
  const auto r = c.request("GET", lot_path(tender_id, lot) + "/bids");
  expect_status(r, 200);
  const auto o = object_of(r.body, what);
  bid_list out;
  out.count = num(o, "count", what);
  out.deadline_passed = boolean(o, "deadline_passed", what);
  if (const auto* b = o.if_contains("bids"); b != nullptr) {
    if (!b->is_array()) bad_shape(what);
    for (const auto& v : b->get_array()) {
      if (!v.is_object()) bad_shape(what);
      const auto& e = v.get_object();
      listed_bid l;
      l.bidder = str(e, "bidder", what);
      l.ciphertext_digest = str(e, "ciphertext_digest", what);
      l.size = unum(e, "size", what);
      l.received_at = str(e, "received_at", what);
      l.rehearsed = boolean(e, "rehearsed", what);
      l.guarantee_status = opt_str(e, "guarantee_status", what);
      out.bids.push_back(std::move(l));
    }
  }
  return out;
}

bid_seal parse_seal(std::string_view text) {
  constexpr std::string_view what = "a bid seal";
  const auto o = object_of(text, what);
  bid_seal out;
  out.json = std::string(text);
  out.subject = str(o, "subject", what);
  out.deadline = str(o, "deadline", what);
  out.count = num(o, "count", what);
  for (const auto& d : arr(o, "digests", what)) {
    if (!d.is_string()) bad_shape(what);
    out.digests.emplace_back(d.get_string());
  }
  out.root = str(o, "root", what);
  out.note = str(o, "note", what);
  return out;
}

bid_seal seal(client& c, const std::string& tender_id, int lot) {
  const auto r = c.request("GET", lot_path(tender_id, lot) + "/bid-seal");
  expect_status(r, 200);
  return parse_seal(r.body);
}

}  // namespace tender::client::bids
