#pragma once

// Checks HTTP responses against protocol/openapi.yaml (bundled to JSON by tests/node/redocly.sh).
// A response conforms when its method and path match an operation of the spec, its status is
// listed for that operation (exactly, as a range like 4XX, or as `default`), its content type is
// one the status documents, and its JSON body is valid against the documented schema. The schema
// language is the subset of JSON Schema 2020-12 the spec uses; a keyword outside it is reported
// rather than silently ignored. Bodies that are not JSON are checked for status and type only.

#include <tender/client/client.hpp>

#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tender::test {

class openapi_validator {
public:
  // `spec`: the OpenAPI document as JSON (internal $refs are resolved against it).
  explicit openapi_validator(boost::json::value spec);

  // The project's spec, loaded once per process: TENDER_OPENAPI_JSON, bundled again from
  // protocol/openapi.yaml when missing or older than it. Throws when it cannot be made.
  static const openapi_validator& project();

  // The problems with one response, each a sentence; empty when it conforms.
  std::vector<std::string> check(std::string_view method, std::string_view target,
                                 const client::http_response& response) const;

  // The problems of `instance` against `schema`; `where` names the instance ("$" at the root).
  std::vector<std::string> validate(const boost::json::value& instance,
                                    const boost::json::value& schema,
                                    const std::string& where = "$") const;

  const boost::json::value& spec() const { return spec_; }

private:
  const boost::json::value& resolve(const boost::json::value& schema,
                                    std::vector<std::string>& out) const;
  void validate_into(const boost::json::value& instance, const boost::json::value& schema,
                     const std::string& where, std::vector<std::string>& out, int depth) const;

  boost::json::value spec_;
};

// Collects the problems found in the responses of many clients (thread-safe).
class api_conformance {
public:
  explicit api_conformance(const openapi_validator& v) : validator_(v) {}

  // An observer for client::options::on_response. It keeps only a weak reference to this log.
  static std::function<void(std::string_view, std::string_view, const client::http_response&)>
  observer(const std::shared_ptr<api_conformance>& log);

  void record(std::string_view method, std::string_view target,
              const client::http_response& response);
  // While > 0, responses are not checked (a test that probes undocumented routes on purpose).
  void suspend() {
    const std::lock_guard lock(mutex_);
    ++suspended_;
  }
  void resume() {
    const std::lock_guard lock(mutex_);
    --suspended_;
  }
  std::vector<std::string> violations() const;
  std::size_t checked() const;
  void clear();

private:
  const openapi_validator& validator_;
  mutable std::mutex mutex_;
  std::vector<std::string> violations_;
  std::size_t checked_ = 0;
  int suspended_ = 0;
};

}  // namespace tender::test
