#pragma once

// Tender documents, downloads, questions (答疑) and notifications with read receipts
// (docs/DOCUMENTS.md). Free functions on a signed-in client. Each throws client::error with the
// server's code (auth.*, tender.*, document.*, question.*, notification.*, request.*) unless the
// server answers as expected, and client.bad_response for an answer of the wrong shape.

#include <tender/client/client.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tender::client::documents {

// Code of the error thrown when downloaded bytes do not match the SHA-256 the server announced.
inline constexpr const char* digest_mismatch = "client.digest_mismatch";

struct uploaded {
  std::int64_t document_id = 0;
  std::string tender_id;
  std::string name;
  int version = 0;
  std::string sha256;  // lower-case hex
  std::int64_t size = 0;
  std::string created_at;
};

struct version_info {
  int version = 0;
  std::string sha256;
  std::int64_t size = 0;
  std::string created_at;
};

struct document_info {
  std::int64_t document_id = 0;
  std::string name;
  int latest_version = 0;
  std::vector<version_info> versions;
};

struct file {
  std::int64_t document_id = 0;
  int version = 0;
  std::string sha256;  // checked against the bytes
  std::string content;
};

struct download_entry {
  std::int64_t id = 0;
  std::int64_t document_id = 0;
  int version = 0;
  std::string user_id;
  std::string org_id;
  std::string org_name;
  std::string downloaded_at;
};

struct downloads_info {
  std::string tender_id;
  bool deadline_passed = false;
  std::int64_t downloads = 0;
  std::int64_t organisations = 0;
  std::int64_t users = 0;
  bool listed = false;  // the list is shown (once the bidder list is published, or to a supervisor)
  std::vector<download_entry> list;
};

struct question {
  std::int64_t id = 0;
  std::string text;
  std::string asked_at;
  std::optional<std::string> answer;
  std::optional<std::string> answered_at;
  std::optional<bool> mine;              // bidders' view only
  std::optional<std::string> asked_by;   // supervisors' view only
  std::optional<std::string> asker_org;  // supervisors' view only
};

struct answered {
  question q;
  std::int64_t push_id = 0;
  std::int64_t recipients = 0;
};

struct notification {
  std::int64_t id = 0;
  std::int64_t push_id = 0;
  std::string tender_id;
  std::string kind;  // document.version, question.answered, ...
  std::string ref;
  std::string summary_json;
  std::string created_at;
  std::optional<std::string> read_at;
};

struct notifications_page {
  std::int64_t unread = 0;
  std::vector<notification> items;  // unread first
};

struct read_receipt {
  std::int64_t id = 0;
  std::string read_at;
  bool first_read = false;
};

struct recipient {
  std::string org_id;
  std::string user_id;
  std::optional<std::string> read_at;
};

struct push_receipt {
  std::int64_t push_id = 0;
  std::string kind;
  std::string ref;
  std::string summary_json;
  std::string created_at;
  std::int64_t delivered = 0;
  std::int64_t read = 0;
  bool listed = false;
  std::vector<recipient> recipients;
};

struct receipts_info {
  std::string tender_id;
  bool deadline_passed = false;
  std::vector<push_receipt> pushes;
};

// POST /api/v1/tenders/{id}/documents?name=NAME with the bytes and their Digest-SHA256.
uploaded upload(client& c, const std::string& tender_id, const std::string& name,
                const std::string& content, const std::string& idempotency_key = {});
// GET /api/v1/tenders/{id}/documents
std::vector<document_info> list(client& c, const std::string& tender_id);
// GET /api/v1/tenders/{id}/documents/{doc}/versions/{v|latest}; verifies the SHA-256 (throws
// digest_mismatch).
file download(client& c, const std::string& tender_id, std::int64_t document_id,
              std::optional<int> version = std::nullopt);
// GET /api/v1/tenders/{id}/downloads
downloads_info downloads(client& c, const std::string& tender_id);
// POST /api/v1/tenders/{id}/questions
question ask(client& c, const std::string& tender_id, const std::string& text);
// GET /api/v1/tenders/{id}/questions
std::vector<question> questions(client& c, const std::string& tender_id);
// POST /api/v1/tenders/{id}/questions/{qid}/answer
answered answer(client& c, const std::string& tender_id, std::int64_t question_id,
                const std::string& text);
// GET /api/v1/notifications
notifications_page notifications(client& c);
// POST /api/v1/notifications/{id}/read
read_receipt mark_read(client& c, std::int64_t notification_id);
// GET /api/v1/tenders/{id}/notifications
receipts_info receipts(client& c, const std::string& tender_id);

}  // namespace tender::client::documents
