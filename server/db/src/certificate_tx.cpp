#include "certificate_tx.hpp"

#include "prepared.hpp"

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/db/error.hpp>

#include <pqxx/pqxx>

#include <ctime>

namespace tender::db::certificate_tx {

namespace {

#define TENDER_CERT_TIME(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// One row per certificate-backed key (key_fingerprint is UNIQUE).
constexpr const char* key_certificate_sql =
    "SELECT fingerprint, subject, not_before > clock_timestamp(), "
    "not_after <= clock_timestamp(), " TENDER_CERT_TIME("not_before") ", " TENDER_CERT_TIME(
        "not_after") ", encode(der, 'hex') FROM user_certificates WHERE key_fingerprint = $1";

#undef TENDER_CERT_TIME

std::string utc(std::int64_t t) {
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::optional<refusal> check_key(pqxx::transaction_base& tx, const std::string& key_fingerprint,
                                 const revocation_source& crls) {
  const auto rows =
      exec_prepared_sql(tx, "certificate_of_key", key_certificate_sql, key_fingerprint);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  const auto name = "the certificate " + r[0].as<std::string>() + " (" + r[1].as<std::string>() +
                    ") of key " + key_fingerprint;
  if (r[2].as<bool>()) {
    return refusal{certificate_codes::not_yet_valid,
                   name + " is not valid before " + r[4].as<std::string>()};
  }
  if (r[3].as<bool>()) {
    return refusal{certificate_codes::expired,
                   name + " expired at " + r[5].as<std::string>() + "; register a new one"};
  }
  const auto lists = crls ? crls() : nullptr;
  if (lists == nullptr || lists->empty()) return std::nullopt;
  const auto der = crypto::hex_decode(r[6].as<std::string>());
  const auto cert = crypto::x509::certificate::from_der(der);
  for (const auto& list : *lists) {
    if (const auto e = list.find(cert)) {
      return refusal{certificate_codes::revoked, name + " was revoked by " + list.issuer() +
                                                     " at " + utc(e->revoked_at) + " (" +
                                                     e->reason + ")"};
    }
  }
  return std::nullopt;
}

void require_key_in_force(pqxx::transaction_base& tx, const std::string& key_fingerprint,
                          const revocation_source& crls) {
  if (auto r = check_key(tx, key_fingerprint, crls)) throw error(r->code, r->message);
}

}  // namespace tender::db::certificate_tx
