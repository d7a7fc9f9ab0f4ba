// Bid submission (docs/SUBMISSION.md, docs/design/submission.md): tus 1.0 resumable uploads of
// sealed bid files, completion (verification, blob, bid record, receipt), the caller's bid,
// withdrawal, decryption rehearsal, the list of bids and the deadline seal.
//
// File work (opening, writing at an offset, fsync, hashing, verifying a sealed file, adopting a
// blob) runs on a small thread pool of its own, never on an I/O thread; the database work on the
// db pool. The body of a PATCH is streamed to the partial file piece by piece (net::body_sink).

#include "audit_service.hpp"
#include "auth.hpp"
#include "body.hpp"
#include "params.hpp"
#include "routes.hpp"

#include <tender/api/uploads.hpp>
#include <tender/core/log.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/crypto/suite.hpp>
#include <tender/db/bids.hpp>
#include <tender/db/database.hpp>
#include <tender/storage/blob_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace tender::app {
namespace json = boost::json;
namespace asio = boost::asio;
using protocol::errc;

namespace {

constexpr const char* tus_version = "1.0.0";
constexpr std::size_t small_body_limit = 16 * 1024;

// Everything the bid routes share.
struct bid_state {
  bid_state(db::database& database, audit_service& a, const bid_settings& s)
      : ids(std::make_shared<db::identity>(database.connections(), db::identity::options{})),
        audit(a),
        settings(s),
        blobs(storage::make_file_blob_store(s.data_dir)),
        area(s.data_dir),
        workers(2) {
    db::bids::options o;
    o.max_upload_bytes = s.max_upload_bytes;
    o.bidder_quota_bytes = s.bidder_quota_bytes;
    o.tender_quota_bytes = s.tender_quota_bytes;
    o.signer = a.signer();
    o.revocations = s.revocations;
    repo = std::make_shared<db::bids>(database.connections(), std::move(o));
  }

  std::shared_ptr<db::identity> ids;
  std::shared_ptr<db::bids> repo;
  audit_service& audit;
  bid_settings settings;
  std::unique_ptr<storage::blob_store> blobs;
  storage::upload_area area;
  asio::thread_pool workers;

  // Uploads with a PATCH in progress: one writer per upload at a time.
  std::mutex busy_mutex;
  std::set<std::string> busy;

  bool claim(const std::string& id) {
    std::lock_guard lock(busy_mutex);
    return busy.insert(id).second;
  }
  void release(const std::string& id) {
    std::lock_guard lock(busy_mutex);
    busy.erase(id);
  }
};

// Runs `f` on the file workers and resumes the caller on its own executor.
template <class F>
asio::awaitable<std::invoke_result_t<F>> on_workers(bid_state& s, F f) {
  using R = std::invoke_result_t<F>;
  auto task = [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); };
  co_return co_await asio::co_spawn(s.workers.get_executor(), std::move(task), asio::use_awaitable);
}

[[noreturn]] void refuse(errc code, std::string message) {
  throw rejected_request{code, std::move(message)};
}

net::response with_tus(net::response r) {
  r.headers.emplace_back("Tus-Resumable", tus_version);
  return r;
}

net::response no_content() {
  net::response r;
  r.status = 204;
  r.content_type.clear();
  return with_tus(std::move(r));
}

// The answer to an exception of a bid handler, as guarded() would give it.
net::response error_response(const std::exception_ptr& p, const std::string& path) {
  try {
    std::rethrow_exception(p);
  } catch (const rejected_request& e) {
    return net::response::error(e.code, e.message);
  } catch (const db::error& e) {
    if (auto c = protocol::errc_from_name(e.code());
        c && !e.code().starts_with("service.") && !e.code().starts_with("db.")) {
      return net::response::error(*c, e.what());
    }
    if (e.code() == "db.unreachable" || e.code() == "db.stopped") {
      auto res = net::response::error(errc::not_ready, std::string("database: ") + e.what());
      res.headers.emplace_back("Retry-After", "1");
      return res;
    }
    core::log::error("bid request failed",
                     {{"path", path}, {"code", e.code()}, {"error", e.what()}});
    return net::response::error(errc::internal, "the request failed [" + e.code() + "]");
  } catch (const std::exception& e) {
    core::log::error("bid request failed", {{"path", path}, {"error", e.what()}});
    return net::response::error(errc::internal, "the request failed");
  }
}

// Tus-Resumable must name 1.0.0 (412 with Tus-Version otherwise).
std::optional<net::response> tus_mismatch(const net::request& req) {
  const auto v = req.header("Tus-Resumable");
  if (v && *v == tus_version) return std::nullopt;
  auto r = net::response::error(errc::upload_unsupported_version,
                                v ? "Tus-Resumable '" + std::string(v->substr(0, 20)) +
                                        "' is not supported; this server speaks tus 1.0.0"
                                  : std::string("Tus-Resumable: 1.0.0 is required"));
  r.headers.emplace_back("Tus-Version", tus_version);
  return with_tus(std::move(r));
}

std::string location_of(const std::string& upload_id) {
  return "/api/v1/uploads/" + upload_id;
}

json::object status_json(const db::upload_info& u) {
  json::value receipt = nullptr;
  if (u.receipt) receipt = json::parse(*u.receipt);
  return {{"upload_id", u.id},
          {"tender_id", u.tender_id},
          {"lot", u.lot_no},
          {"state", u.state},
          {"length", u.length},
          {"offset", u.offset},
          {"reject_code", u.reject_code ? json::value(*u.reject_code) : json::value()},
          {"reject_message", u.reject_message ? json::value(*u.reject_message) : json::value()},
          {"created_at", u.created_at},
          {"receipt", receipt}};
}

// ---- Completion ---------------------------------------------------------------------------

struct completion_refusal {
  errc code;
  std::string message;
};

// What the worker finds in a complete partial file.
struct examined_file {
  std::string sha256;
  std::uint64_t size = 0;
  std::optional<crypto::sealed::verify_result> verified;
  std::optional<completion_refusal> refusal;
};

errc code_of_sealed_error(const std::string& code) {
  namespace c = crypto::sealed::codes;
  if (code == c::bad_signature || code == c::bad_signer) return errc::bid_bad_signature;
  return errc::bid_bad_file;
}

examined_file examine(const std::filesystem::path& path) {
  examined_file out;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open the partial file " + path.string());
    auto h = crypto::get_suite(crypto::suite_id::sodium).make_hasher();
    std::vector<char> buf(1 << 16);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      h->update(crypto::byte_view(reinterpret_cast<const std::uint8_t*>(buf.data()), n));
      out.size += n;
    }
    const auto d = h->finish();
    out.sha256 = crypto::hex_encode(d);
  }
  std::ifstream in(path, std::ios::binary);
  try {
    out.verified = crypto::sealed::verify(in);
  } catch (const crypto::error& e) {
    out.refusal = completion_refusal{
        code_of_sealed_error(e.code()),
        std::string("the sealed file does not verify [") + e.code() + "]: " + e.what()};
  }
  return out;
}

std::string policy_of_tender(const std::string& key_policy) {
  if (key_policy == "bidder_only") return "bidder";
  if (key_policy == "bidder_or_escrow") return "bidder-or-escrow";
  return "bidder-and-escrow";
}

// The header checks against the tender, the lot and the uploader (nullopt: accepted).
std::optional<completion_refusal> check_header(const crypto::sealed::header& h,
                                               const db::upload_info& u,
                                               const db::bid_requirements& req) {
  const std::string subject = u.tender_id + "/" + std::to_string(u.lot_no);
  if (h.tender_id != subject) {
    return completion_refusal{errc::bid_wrong_tender, "the file is sealed for '" + h.tender_id +
                                                          "', not for lot " + subject};
  }
  if (h.bidder_id != u.bidder_org) {
    return completion_refusal{
        errc::bid_wrong_bidder,
        "the file names bidder '" + h.bidder_id + "', not organisation '" + u.bidder_org + "'"};
  }
  const auto wanted = policy_of_tender(req.key_policy);
  const auto got = std::string(crypto::sealed::policy_name(h.policy));
  if (got != wanted) {
    return completion_refusal{errc::bid_wrong_policy, "the file's key policy is " + got +
                                                          "; the tender requires " + wanted};
  }
  if (h.policy != crypto::sealed::key_policy::bidder) {
    if (!req.escrow_setup) {
      return completion_refusal{errc::bid_wrong_escrow_key, "the tender has no escrow setup"};
    }
    const auto setup = crypto::escrow::setup_from_json(*req.escrow_setup);
    const auto suite = setup.grp == crypto::escrow::group::ristretto255 ? crypto::suite_id::sodium
                                                                        : crypto::suite_id::gm;
    if (h.suite != suite) {
      return completion_refusal{errc::bid_wrong_policy,
                                "the file uses suite " + std::string(crypto::suite_name(h.suite)) +
                                    "; the tender's escrow key requires " +
                                    std::string(crypto::suite_name(suite))};
    }
    crypto::escrow::public_key key;
    try {
      key = crypto::sealed::escrow_recipient(h);
    } catch (const crypto::error& e) {
      return completion_refusal{errc::bid_wrong_escrow_key,
                                std::string("the file has no usable escrow stanza: ") + e.what()};
    }
    if (key.grp != setup.grp || key.point != setup.public_key) {
      return completion_refusal{errc::bid_wrong_escrow_key,
                                "the file is sealed to another escrow key than the tender's"};
    }
  }
  return std::nullopt;
}

// The receipt (docs/design/submission.md, "Receipt") of a recorded bid, after a checkpoint that
// covers its event.
asio::awaitable<std::string> build_receipt(bid_state& s, const db::recorded_bid& b) {
  auto cp = co_await s.audit.checkpoint_now();
  if (!cp || cp->size <= b.log_index) {
    throw db::error("audit.corrupt", "no checkpoint covers the bid's audit event");
  }
  auto proof = co_await s.audit.log().inclusion_proof(b.log_index, cp->size);
  auto record = co_await s.audit.log().event(b.log_index);
  if (!record) throw db::error("audit.corrupt", "the bid's audit event is missing");
  json::array path;
  for (const auto& h : proof.proof)
    path.emplace_back(crypto::base64_encode(crypto::byte_view(h.data(), h.size())));
  const auto signer = s.audit.signer();
  const crypto::note::ed25519_signer* signers[] = {signer.get()};
  const auto note = crypto::note::sign(db::bid_receipt_note_text(b), signers);
  const json::object receipt{
      {"type", "tenderhall.bid_receipt"},
      {"version", 1},
      {"note", note},
      {"log_index", b.log_index},
      {"leaf_data", crypto::base64_encode(crypto::as_bytes(record->leaf_data))},
      {"payload", b.payload},
      {"inclusion_proof", std::move(path)},
      {"checkpoint", cp->note}};
  co_return json::serialize(receipt);
}

// The streamed body of one PATCH.
class patch_sink final : public net::body_sink, public std::enable_shared_from_this<patch_sink> {
public:
  patch_sink(std::shared_ptr<bid_state> s, db::principal who, db::upload_info u,
             std::unique_ptr<storage::upload_area::writer> w, std::string path)
      : s_(std::move(s)),
        who_(std::move(who)),
        upload_(std::move(u)),
        writer_(std::move(w)),
        path_(std::move(path)),
        offset_(upload_.offset) {}

  ~patch_sink() override { s_->release(upload_.id); }

  void write(const char* data, std::size_t size) override {
    if (offset_ + size > upload_.length) {
      throw net::coded_refusal(errc::upload_too_large, "the PATCH goes past Upload-Length " +
                                                           std::to_string(upload_.length));
    }
    // A write to the open partial file (kernel buffered); fsync happens in finish().
    writer_->write(data, size);
    offset_ += size;
  }

  asio::awaitable<net::response> finish(bool complete) override {
    auto self = shared_from_this();
    try {
      co_return co_await finish_impl(complete);
    } catch (...) {
      co_return with_tus(error_response(std::current_exception(), path_));
    }
  }

private:
  asio::awaitable<net::response> finish_impl(bool complete) {
    // Every byte is here: the moment is stamped on the database clock now, before the file
    // waits for the workers (sync, verification). The deadline is judged by it (issue 15 §3).
    if (complete && offset_ == upload_.length) {
      const auto stamp = co_await s_->repo->stamp_last_byte(upload_.id);
      if (stamp.late) {
        writer_.reset();
        const completion_refusal late{
            errc::bid_deadline_passed,
            "the last byte arrived at " + stamp.at + ", after the submission deadline"};
        co_return co_await refuse_completion(late);
      }
    }
    auto* w = writer_.get();
    auto sync = [w] { return w->sync(); };
    const std::uint64_t stored = co_await on_workers(*s_, std::move(sync));
    writer_.reset();
    co_await s_->repo->set_offset(upload_.id, stored);
    if (!complete || stored < upload_.length) {
      auto r = no_content();
      r.headers.emplace_back("Upload-Offset", std::to_string(stored));
      co_return r;
    }
    co_return co_await complete_upload();
  }

  asio::awaitable<net::response> refuse_completion(const completion_refusal& r) {
    const std::string code(protocol::error_code_name(r.code));
    const std::string message = r.message;
    const std::string upload_id = upload_.id;
    co_await s_->repo->reject(upload_id, code, message);
    auto* area = &s_->area;
    const auto id = upload_.id;
    auto remove = [area, id] {
      area->remove(id);
      return true;
    };
    co_await on_workers(*s_, std::move(remove));
    co_return with_tus(net::response::error(r.code, r.message));
  }

  asio::awaitable<net::response> complete_upload() {
    const auto path = s_->area.path_of(upload_.id);
    auto run = [path, hold = s_->settings.hold_verification_while] {
      while (!hold.empty() && std::filesystem::exists(hold))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return examine(path);
    };
    const examined_file file = co_await on_workers(*s_, std::move(run));
    if (file.refusal) co_return co_await refuse_completion(*file.refusal);
    const auto& v = *file.verified;
    const auto requirements = co_await s_->repo->requirements(upload_.tender_id);
    if (auto r = check_header(v.layout.hdr, upload_, requirements)) {
      co_return co_await refuse_completion(*r);
    }
    const auto fingerprint = v.signer_key.fingerprint();
    if (const auto refused = co_await s_->repo->check_signer(upload_.bidder_org, fingerprint)) {
      const completion_refusal r{
          *protocol::errc_from_name(refused->code),
          "the file is signed by key " + fingerprint + ", " + refused->message};
      co_return co_await refuse_completion(r);
    }
    db::verified_bid bid;
    bid.upload_id = upload_.id;
    bid.blob_digest = file.sha256;
    bid.ciphertext_digest = crypto::hex_encode(v.ciphertext_digest);
    bid.header_digest = crypto::hex_encode(v.header_digest);
    bid.size = file.size;
    bid.suite = std::string(crypto::suite_name(v.layout.hdr.suite));
    bid.policy = std::string(crypto::sealed::policy_name(v.layout.hdr.policy));
    bid.signer_fingerprint = fingerprint;
    bid.rehearsal_public_key.assign(v.layout.hdr.rehearsal_public_key.begin(),
                                    v.layout.hdr.rehearsal_public_key.end());
    bid.header.assign(v.layout.hdr.encoded.begin(), v.layout.hdr.encoded.end());
    // The blob first: a crash after it and before the commit leaves an unreferenced blob, which
    // garbage collection removes; never a bid without its file. The store adopts a hard link of
    // the partial file, not the partial file itself: until the commit the upload is still open
    // with every byte stored, and a completion retried after a crash (or a database failure in
    // record()) must find its file again. The partial file goes once the bid is recorded.
    auto* blobs = s_->blobs.get();
    const auto digest = file.sha256;
    const auto staged =
        std::filesystem::path(s_->settings.data_dir) / "tmp" / (upload_.id + ".adopt");
    auto adopt = [blobs, path, staged, digest] {
      std::filesystem::remove(staged);
      std::filesystem::create_hard_link(path, staged);
      return blobs->adopt(staged, digest);
    };
    co_await on_workers(*s_, std::move(adopt));
    db::recorded_bid recorded;
    std::optional<std::pair<std::string, std::string>> late;  // code, message
    try {
      recorded = co_await s_->repo->record(who_, bid);
    } catch (const db::error& e) {
      if (e.code() != "bid.deadline_passed" && e.code() != "bid.not_accepting") throw;
      late.emplace(e.code(), e.what());
    }
    if (late) {
      // Too late (or the tender stopped taking bids) between the PATCH's start and the record.
      const std::string upload_id = upload_.id;
      co_await s_->repo->reject(upload_id, late->first, late->second);
      const auto code = *protocol::errc_from_name(late->first);
      co_return with_tus(net::response::error(code, late->second));
    }
    {
      // Recorded: the partial file is no longer needed (garbage collection would remove it too).
      auto* area = &s_->area;
      const auto id = upload_.id;
      auto remove = [area, id] {
        area->remove(id);
        return true;
      };
      try {
        co_await on_workers(*s_, std::move(remove));
      } catch (const std::exception& e) {
        core::log::warn("partial file not removed", {{"upload", upload_.id}, {"error", e.what()}});
      }
    }
    const auto receipt = co_await build_receipt(*s_, recorded);
    co_await s_->repo->store_receipt(recorded.bid_id, receipt);
    auto r = no_content();
    r.headers.emplace_back("Upload-Offset", std::to_string(upload_.length));
    r.headers.emplace_back("Tender-Bid-Receipt", location_of(upload_.id) + "/receipt");
    co_return r;
  }

  std::shared_ptr<bid_state> s_;
  db::principal who_;
  db::upload_info upload_;
  std::unique_ptr<storage::upload_area::writer> writer_;
  std::string path_;
  std::uint64_t offset_ = 0;
};

// ---- Garbage collection -----------------------------------------------------------------------

struct gc_result {
  std::size_t partials = 0;
  std::size_t blobs = 0;
};

asio::awaitable<gc_result> collect_garbage(std::shared_ptr<bid_state> s) {
  const auto open = co_await s->repo->open_upload_ids();
  const auto referenced = co_await s->repo->referenced_blobs();
  bid_state* st = s.get();  // never the last owner on a worker thread
  auto sweep = [st, open, referenced] {
    auto* state = st;
    gc_result r;
    const std::set<std::string> live(open.begin(), open.end());
    const auto now = std::filesystem::file_time_type::clock::now();
    for (const auto& id : state->area.list()) {
      // A file touched in the last minute may belong to an upload created after the list of
      // open uploads was read: leave it for the next run.
      std::error_code ec;
      const auto touched = std::filesystem::last_write_time(state->area.path_of(id), ec);
      if (ec || now - touched < std::chrono::minutes(1)) continue;
      if (live.count(id) == 0) {
        std::lock_guard lock(state->busy_mutex);
        if (state->busy.count(id) != 0) continue;
        state->area.remove(id);
        ++r.partials;
      }
    }
    const std::set<std::string> keep(referenced.begin(), referenced.end());
    const auto root = std::filesystem::path(state->settings.data_dir) / "blobs" / "sha256";
    for (const auto& d : state->blobs->list()) {
      if (keep.count(d) != 0) continue;
      std::error_code ec;
      const auto file = root / d.substr(0, 2) / d;
      const auto t = std::filesystem::last_write_time(file, ec);
      if (!ec && now - t < std::chrono::hours(1)) continue;
      state->blobs->remove(d);
      ++r.blobs;
    }
    return r;
  };
  co_return co_await on_workers(*s, std::move(sweep));
}

asio::awaitable<void> gc_loop(std::shared_ptr<bid_state> s, db::database& database,
                              std::chrono::seconds interval) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  for (;;) {
    const bool ready = database.readiness().ready;
    if (ready) {
      try {
        const auto r = co_await collect_garbage(s);
        if (r.partials + r.blobs > 0) {
          core::log::info("storage garbage collected",
                          {{"partial_files", r.partials}, {"blobs", r.blobs}});
        }
      } catch (const std::exception& e) {
        core::log::warn("storage garbage collection failed", {{"error", e.what()}});
      }
    }
    // Not ready yet (start, database down): try again soon rather than a whole interval later, so
    // the collection at start does happen.
    if (ready) {
      timer.expires_after(interval);
    } else {
      timer.expires_after(std::chrono::seconds(1));
    }
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace

void add_bid_routes(net::router& r, db::database& database, audit_service& audit,
                    const bid_settings& settings) {
  auto s = std::make_shared<bid_state>(database, audit, settings);
  const auto route = [&](std::vector<std::string> roles, principal_body_fn body) {
    return authorized(database, s->ids, std::move(roles), nullptr, std::move(body), "bid request");
  };
  const auto tus_route = [&](std::vector<std::string> roles, principal_body_fn body) {
    auto inner =
        authorized(database, s->ids, std::move(roles), nullptr, std::move(body), "upload request");
    return [inner](net::request& req) -> asio::awaitable<net::response> {
      if (auto bad = tus_mismatch(req)) co_return std::move(*bad);
      auto res = co_await inner(req);
      co_return with_tus(std::move(res));
    };
  };

  // Discovery (no login).
  r.add("OPTIONS", "/api/v1/uploads",
        [max = settings.max_upload_bytes](net::request&) -> asio::awaitable<net::response> {
          auto res = no_content();
          res.headers.emplace_back("Tus-Version", tus_version);
          res.headers.emplace_back("Tus-Extension", "creation,termination");
          res.headers.emplace_back("Tus-Max-Size", std::to_string(max));
          co_return res;
        });

  r.add("POST", "/api/v1/tenders/{id}/lots/{lot}/uploads",
        tus_route({"bidder"},
                  [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                    no_query(req);
                    auto head = api::read_upload_creation(req);
                    db::bids::create_request c;
                    c.tender_id = req.params.at("id");
                    c.lot_no = lot_param(req);
                    c.length = head.length;
                    c.metadata_json = std::move(head.metadata_json);
                    c.client_version = std::move(head.client_version);
                    c.source_ip = req.remote_address;
                    const auto u = co_await s->repo->create_upload(p, std::move(c));
                    auto* area = &s->area;
                    const auto id = u.id;
                    auto create = [area, id] {
                      area->create(id);
                      return true;
                    };
                    co_await on_workers(*s, std::move(create));
                    const json::object body{{"upload_id", u.id},
                                            {"location", location_of(u.id)},
                                            {"length", u.length},
                                            {"offset", 0}};
                    auto res = net::response::json(201, json::serialize(body));
                    res.headers.emplace_back("Location", location_of(u.id));
                    res.headers.emplace_back("Upload-Offset", "0");
                    res.headers.emplace_back("Upload-Length", std::to_string(u.length));
                    co_return res;
                  }),
        small_body_limit);

  r.add("HEAD", "/api/v1/uploads/{uid}",
        tus_route({"bidder"},
                  [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                    const auto u = co_await s->repo->upload(p, req.params.at("uid"));
                    if (u.state == "void" || u.state == "terminated" || u.state == "rejected") {
                      refuse(errc::upload_gone, "upload '" + u.id + "' is " + u.state);
                    }
                    auto res = no_content();
                    res.status = 200;
                    res.headers.emplace_back("Upload-Offset", std::to_string(u.offset));
                    res.headers.emplace_back("Upload-Length", std::to_string(u.length));
                    res.headers.emplace_back("Cache-Control", "no-store");
                    co_return res;
                  }));

  r.add("GET", "/api/v1/uploads/{uid}",
        tus_route({"bidder"},
                  [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                    no_query(req);
                    const auto u = co_await s->repo->upload(p, req.params.at("uid"));
                    auto res = net::response::json(200, json::serialize(status_json(u)));
                    res.headers.emplace_back("Cache-Control", "no-store");
                    co_return res;
                  }));

  r.add("GET", "/api/v1/uploads/{uid}/receipt",
        route({"bidder"},
              [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const auto u = co_await s->repo->upload(p, req.params.at("uid"));
                if (u.state != "complete" || !u.bid_id) {
                  refuse(errc::upload_incomplete,
                         "upload '" + u.id + "' is " + u.state + ": no bid, no receipt");
                }
                std::string receipt;
                if (u.receipt) {
                  receipt = *u.receipt;
                } else {
                  // Recorded, but the process stopped before the receipt was stored.
                  const auto b = co_await s->repo->recorded(*u.bid_id);
                  receipt = co_await build_receipt(*s, b);
                  co_await s->repo->store_receipt(*u.bid_id, receipt);
                }
                co_return net::response::json(200, receipt);
              }));

  r.add("DELETE", "/api/v1/uploads/{uid}",
        tus_route({"bidder"},
                  [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                    const auto id = req.params.at("uid");
                    co_await s->repo->terminate(p, id);
                    if (s->claim(id)) {
                      auto* area = &s->area;
                      auto remove = [area, id] {
                        area->remove(id);
                        return true;
                      };
                      co_await on_workers(*s, std::move(remove));
                      s->release(id);
                    }
                    co_return no_content();
                  }));

  // PATCH: streamed to the partial file.
  net::stream_handler patch = [s,
                               &database](net::request& req) -> asio::awaitable<net::stream_start> {
    net::stream_start out;
    if (auto bad = tus_mismatch(req)) {
      out.immediate = std::move(*bad);
      co_return out;
    }
    const auto ready = database.readiness();
    if (!ready.ready) {
      auto res =
          net::response::error(errc::not_ready, "the database is not ready: " + ready.reason);
      res.headers.emplace_back("Retry-After", "1");
      out.immediate = with_tus(std::move(res));
      co_return out;
    }
    std::exception_ptr failure;
    try {
      auto who = co_await authenticate(*s->ids, req);
      if (auto* res = std::get_if<net::response>(&who)) {
        out.immediate = with_tus(std::move(*res));
        co_return out;
      }
      const auto p = std::get<db::principal>(who);
      if (!p.who.has_role("bidder")) {
        refuse(errc::auth_forbidden, "uploading a bid needs the 'bidder' role");
      }
      const auto ct = req.header("Content-Type");
      if (!ct || *ct != "application/offset+octet-stream") {
        refuse(errc::unsupported_media,
               "a PATCH carries Content-Type: application/offset+octet-stream");
      }
      const auto [offset, content_length] = api::read_upload_patch(req);
      const auto id = req.params.at("uid");
      auto u = co_await s->repo->begin_patch(p, id);
      if (offset != u.offset) {
        auto res = net::response::error(
            errc::upload_offset_mismatch,
            "Upload-Offset " + std::to_string(offset) + " is not the upload's offset " +
                std::to_string(u.offset) + " (ask HEAD and resume from there)");
        out.immediate = with_tus(std::move(res));
        co_return out;
      }
      if (const auto n = content_length) {
        if (offset + *n > u.length) {
          refuse(errc::upload_too_large, "the PATCH of " + std::to_string(*n) +
                                             " bytes at offset " + std::to_string(offset) +
                                             " goes past Upload-Length " +
                                             std::to_string(u.length));
        }
      }
      if (!s->claim(id)) {
        auto res = net::response::error(
            errc::upload_offset_mismatch,
            "another PATCH of upload '" + id + "' is in progress; ask HEAD and resume");
        out.immediate = with_tus(std::move(res));
        co_return out;
      }
      std::unique_ptr<storage::upload_area::writer> writer;
      try {
        auto* area = &s->area;
        const auto at = u.offset;
        auto open = [area, id, at] { return area->append_at(id, at); };
        writer = co_await on_workers(*s, std::move(open));
      } catch (...) {
        s->release(id);
        throw;
      }
      out.sink = std::make_shared<patch_sink>(s, p, std::move(u), std::move(writer), req.path);
      co_return out;
    } catch (...) {
      failure = std::current_exception();
    }
    out.immediate = with_tus(error_response(failure, req.path));
    co_return out;
  };
  r.add_stream("PATCH", "/api/v1/uploads/{uid}", std::move(patch),
               static_cast<std::size_t>(settings.max_upload_bytes));

  // Bids.
  r.add("GET", "/api/v1/tenders/{id}/lots/{lot}/bids/mine",
        route({"bidder"},
              [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const auto body = co_await s->repo->mine(p, req.params.at("id"), lot_param(req));
                co_return net::response::json(200, json::serialize(body));
              }));

  r.add("DELETE", "/api/v1/tenders/{id}/lots/{lot}/bids/mine",
        route({"bidder"},
              [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const auto body =
                    co_await s->repo->withdraw(p, req.params.at("id"), lot_param(req));
                co_await s->audit.checkpoint_now();
                co_return net::response::json(200, json::serialize(body));
              }));

  r.add("POST", "/api/v1/tenders/{id}/lots/{lot}/bids/mine/rehearsal-challenge",
        route({"bidder"},
              [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                if (!req.body.empty() && req.body != "{}") {
                  refuse(errc::request_bad_json, "this request takes no body (or {})");
                }
                const auto body =
                    co_await s->repo->rehearsal_challenge(p, req.params.at("id"), lot_param(req));
                co_return net::response::json(201, json::serialize(body));
              }),
        small_body_limit);

  r.add("POST", "/api/v1/tenders/{id}/lots/{lot}/bids/mine/rehearsal",
        route({"bidder"},
              [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                auto [challenge_id, signature] = api::read_signed_challenge(req.body);
                const auto tender_id = req.params.at("id");
                const int lot = lot_param(req);
                const auto body = co_await s->repo->rehearse(p, tender_id, lot, challenge_id,
                                                             std::move(signature));
                co_await s->audit.checkpoint_now();
                co_return net::response::json(200, json::serialize(body));
              }),
        small_body_limit);

  r.add("GET", "/api/v1/tenders/{id}/lots/{lot}/bids",
        route({"tenderer", "center_staff", "supervisor", "admin"},
              [s](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const auto body = co_await s->repo->list(p, req.params.at("id"), lot_param(req));
                co_return net::response::json(200, json::serialize(body));
              }));

  r.add("GET", "/api/v1/tenders/{id}/lots/{lot}/bid-seal",
        guarded(database, "bid seal", nullptr,
                [s](net::request& req) -> asio::awaitable<net::response> {
                  no_query(req);
                  const auto body = co_await s->repo->seal(req.params.at("id"), lot_param(req));
                  co_return net::response::json(200, json::serialize(body));
                }));

  // Garbage collection of partial files and unreferenced blobs: at start, then periodically.
  if (settings.io) {
    auto loop = gc_loop(s, database, settings.gc_interval);
    asio::co_spawn(*settings.io, std::move(loop), asio::detached);
  }
}

}  // namespace tender::app
