#include "audit_service.hpp"

#include <tender/core/log.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/db/database.hpp>
#include <tender/db/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <system_error>

namespace tender::app {
namespace asio = boost::asio;
namespace note = crypto::note;

namespace {

// A signer key line is about 100 bytes; anything much larger is the wrong file.
constexpr std::size_t max_key_file = 4096;

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

// The key file's bytes go straight into wiping storage: no stream buffer keeps a copy.
crypto::secure_bytes read_key_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw startup_error("audit.signing_key_file '" + path +
                        "' cannot be read: " + errno_text(errno));
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw startup_error("audit.signing_key_file '" + path + "' is not a regular file");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > max_key_file) {
    throw startup_error("audit.signing_key_file '" + path + "' is too large to be a signer key");
  }
  if ((st.st_mode & 077) != 0) {
    core::log::warn("the audit signing key file is readable by other users: chmod 600 it",
                    {{"file", path}});
  }
  crypto::secure_bytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw startup_error("audit.signing_key_file '" + path + "' could not be read whole");
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

std::string verifier_line(const note::ed25519_signer& s) {
  return note::format_verifier_key(s.verifier());
}

db::audit_entry node_event(const std::string& action, const std::string& node_id,
                           const std::string& version) {
  db::audit_entry e;
  e.actor = "tenderd:" + node_id;
  e.role = "system";
  e.action = action;
  // The payload is not stored; its digest is, and anyone can recompute it from the node's id
  // and version (protocol/docs/audit-log.md).
  e.payload_digest = db::audit_payload_digest(
      boost::json::serialize(boost::json::object{{"node_id", node_id}, {"version", version}}));
  return e;
}

}  // namespace

audit_key load_audit_key(const core::config& cfg) {
  audit_key key;
  if (cfg.audit_signing_key_file.empty()) {
    if (cfg.mode == "production") {
      throw startup_error(
          "mode = production needs audit.signing_key_file (the key that signs audit log "
          "checkpoints); create one with `tenderd keygen --out FILE` and set "
          "audit.signing_key_file or TENDERD_AUDIT_SIGNING_KEY_FILE");
    }
    key.signer = std::make_shared<const note::ed25519_signer>(
        note::ed25519_signer::generate(cfg.audit_origin()));
    key.generated = true;
  } else {
    const auto raw = read_key_file(cfg.audit_signing_key_file);
    std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                             text.back() == '\t')) {
      text.remove_suffix(1);
    }
    try {
      key.signer = std::make_shared<const note::ed25519_signer>(note::ed25519_signer::parse(text));
    } catch (const crypto::error& e) {
      // crypto's messages never quote the key itself.
      throw startup_error("audit.signing_key_file '" + cfg.audit_signing_key_file +
                          "' is not a signed-note signer key (PRIVATE+KEY+...): " + e.what() +
                          " [" + e.code() + "]");
    }
  }
  key.verifier_key = verifier_line(*key.signer);
  return key;
}

std::string generate_audit_key_file(const std::string& path, const std::string& key_name) {
  const auto signer = note::ed25519_signer::generate(key_name);
  const crypto::secure_bytes text = signer.format_signer_key();
  // O_EXCL: never replace a key (checkpoints signed with it would stop verifying) and never write
  // through a file or link someone else put there. 0600 from the start: no window of exposure.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw startup_error("cannot create key file '" + path + "': " + errno_text(errno));
  }
  bool ok = true;
  auto put = [&](const std::uint8_t* data, std::size_t size) {
    std::size_t done = 0;
    while (ok && done < size) {
      const ssize_t n = ::write(fd, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        ok = false;
      else
        done += static_cast<std::size_t>(n);
    }
  };
  put(text.data(), text.size());
  const std::uint8_t newline = '\n';
  put(&newline, 1);
  if (::fsync(fd) != 0) ok = false;
  if (::close(fd) != 0) ok = false;
  if (!ok) {
    const int e = errno;
    ::unlink(path.c_str());
    throw startup_error("cannot write key file '" + path + "': " + errno_text(e));
  }
  return verifier_line(signer);
}

// ---- audit_service ------------------------------------------------------------------------------

struct audit_service::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor io_executor, db::database& db, audit_key k, std::string origin_line,
       options o)
      : strand(asio::make_strand(std::move(io_executor))),
        database(db),
        key(std::move(k)),
        opts(std::move(o)),
        log(db.connections(), db::audit_log::options{std::move(origin_line), key.signer}),
        timer(strand) {}

  asio::awaitable<void> run() {
    while (!stopping.load()) {
      // While the database is down the database component already reports it; try again soon.
      bool retry_soon = !database.readiness().ready;
      if (!retry_soon) {
        try {
          if (!start_recorded.load()) {
            const auto start_event = node_event("system.node_started", opts.node_id, opts.version);
            const auto appended = co_await log.append(start_event);
            start_recorded.store(true);
            core::log::info("audit event",
                            {{"action", "system.node_started"}, {"seq", appended.seq}});
          }
          co_await sign();
          if (failing) core::log::info("audit log task recovered");
          failing = false;
        } catch (const db::error& e) {
          // Once per streak of failures: the retries would otherwise flood the log.
          if (!failing) {
            core::log::warn("audit log task failed; will retry",
                            {{"code", e.code()}, {"error", e.what()}});
          }
          failing = true;
          retry_soon = true;
        }
      }
      const std::chrono::milliseconds wait =
          retry_soon ? opts.retry_interval : std::chrono::milliseconds(opts.checkpoint_interval);
      timer.expires_after(wait);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<std::optional<db::audit_checkpoint>> sign() {
    auto cp = co_await log.checkpoint();
    if (cp) note_signed(*cp);
    co_return cp;
  }

  void note_signed(const db::audit_checkpoint& cp) {
    std::uint64_t before = last_logged_size.load();
    while (cp.size > before && !last_logged_size.compare_exchange_weak(before, cp.size)) {
    }
    if (cp.size > before) core::log::debug("audit checkpoint", {{"size", cp.size}});
  }

  // The task and the stop's cancel run on one strand: the I/O context has several threads and a
  // timer must not be used from two at once.
  asio::strand<asio::any_io_executor> strand;
  db::database& database;
  audit_key key;
  options opts;
  db::audit_log log;
  asio::steady_timer timer;
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  std::atomic<bool> start_recorded{false};
  bool failing = false;  // only touched by run()
  std::atomic<std::uint64_t> last_logged_size{0};
  std::promise<void> done;
};

audit_service::audit_service(asio::any_io_executor io, db::database& database, audit_key key,
                             std::string origin, options opts)
    : impl_(std::make_shared<impl>(std::move(io), database, std::move(key), std::move(origin),
                                   std::move(opts))) {}

audit_service::~audit_service() = default;

bool audit_service::start_recorded() const {
  return impl_->start_recorded.load();
}

void audit_service::start() {
  auto self = impl_;
  if (self->started.exchange(true)) return;
  asio::co_spawn(self->strand, self->run(), [self](const std::exception_ptr& e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        core::log::error("audit log task failed", {{"error", ex.what()}});
      }
    }
    self->done.set_value();
  });
}

void audit_service::stop(std::chrono::steady_clock::time_point deadline) {
  auto self = impl_;
  if (self->stopping.exchange(true)) return;
  asio::post(self->strand, [self] { self->timer.cancel(); });
  if (self->started.load() &&
      self->done.get_future().wait_until(deadline) != std::future_status::ready) {
    core::log::warn("audit log task did not stop in time");
    return;
  }
  if (!self->start_recorded.load()) return;
  try {
    const auto appended = self->log.append_blocking(
        node_event("system.node_stopped", self->opts.node_id, self->opts.version));
    core::log::info("audit event", {{"action", "system.node_stopped"}, {"seq", appended.seq}});
    if (auto cp = self->log.checkpoint_blocking()) self->note_signed(*cp);
  } catch (const db::error& e) {
    // Best effort: the database may be the reason we are stopping.
    core::log::warn("could not record the node's stop in the audit log",
                    {{"code", e.code()}, {"error", e.what()}});
  }
}

db::audit_log& audit_service::log() {
  return impl_->log;
}

std::shared_ptr<const crypto::note::ed25519_signer> audit_service::signer() const {
  return impl_->key.signer;
}

const std::string& audit_service::verifier_key() const {
  return impl_->key.verifier_key;
}

const std::string& audit_service::origin() const {
  return impl_->log.origin();
}

asio::awaitable<std::optional<db::audit_checkpoint>> audit_service::checkpoint_now() {
  auto self = impl_;
  co_return co_await self->sign();
}

}  // namespace tender::app
