#pragma once

// Tender documents, downloads, questions (答疑) and pushes with read receipts (tables in
// migrations/0006_documents.sql; rules in docs/DOCUMENTS.md).
//
// Every mutation is one transaction with exactly one audit event; a published document version
// and a published answer also append a public feed event and push a notification to every user
// who downloaded a document of the tender before. Who downloaded and who asked are never shown
// to the tenderer before the deadline (downloads) or ever (askers). The awaitable methods run on
// the pool's threads.
//
// Refusals throw db::error with a public code name, answered as is by the HTTP layer:
// tender.not_found (no such tender, or a draft of another organisation), auth.forbidden (wrong
// role or another organisation's tender), tender.bad_state (wrong state, or the deadline has
// passed), document.bad_input, document.not_found, question.not_found, question.closed,
// notification.not_found. Nothing changes on a refusal.

#include <tender/db/identity.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace tender::db {

class pool;

// The longest question or answer, in bytes.
inline constexpr std::size_t max_question_text = 4000;

class documents {
public:
  explicit documents(pool& connections);

  struct upload_request {
    std::string tender_id;
    std::string name;     // 1..200 bytes of UTF-8, no control characters, '/' or '\'
    std::string content;  // the bytes (at least one)
    std::optional<std::string> expected_sha256;  // lower-case hex; document.bad_input on mismatch
    std::optional<std::string> idempotency_key;
    std::string request_digest;  // what the key is bound to
  };
  struct stored_response {
    int status = 0;
    std::string body;  // JSON
  };
  // 201 {document_id, tender_id, name, version, sha256, size, created_at}; a retry with the same
  // Idempotency-Key gets the first answer again.
  boost::asio::awaitable<stored_response> upload(principal who, upload_request req);

  // {tender_id, documents: [{document_id, name, latest_version, versions: [{version, sha256,
  // size, created_at}]}]}
  boost::asio::awaitable<boost::json::object> list(principal who, std::string tender_id);

  struct file {
    std::int64_t document_id = 0;
    std::string name;
    int version = 0;
    std::string sha256;
    std::string content;
    bool recorded = false;  // a bidder download, recorded (and audited)
  };
  // `version` nullopt: the latest. Records the download when the caller downloads as a bidder.
  boost::asio::awaitable<file> download(principal who, std::string tender_id,
                                        std::int64_t document_id, std::optional<int> version);

  // Counts before the deadline for the owner; the list after it, and always for supervisors.
  boost::asio::awaitable<boost::json::object> downloads(principal who, std::string tender_id);

  boost::asio::awaitable<boost::json::object> ask(principal who, std::string tender_id,
                                                  std::string text);
  boost::asio::awaitable<boost::json::object> questions(principal who, std::string tender_id);
  boost::asio::awaitable<boost::json::object> answer(principal who, std::string tender_id,
                                                     std::int64_t question_id, std::string text);

  // The caller's notifications, unread first, newest first within each group (at most 500).
  boost::asio::awaitable<boost::json::object> notifications(principal who);
  // Idempotent: the first call records read_at, later ones return it unchanged.
  boost::asio::awaitable<boost::json::object> mark_read(principal who, std::int64_t id);
  // The owner's (and supervisors') receipts per push of a tender.
  boost::asio::awaitable<boost::json::object> receipts(principal who, std::string tender_id);

private:
  pool& pool_;
};

}  // namespace tender::db
