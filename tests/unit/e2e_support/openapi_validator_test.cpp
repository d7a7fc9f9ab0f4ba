// The OpenAPI response validator of the e2e tests: it must report every kind of non-conformance,
// and accept what the spec documents. A small spec written here, plus the project's own.
#include <openapi_validator.hpp>

#include <gtest/gtest.h>

#include <algorithm>

namespace {
namespace json = boost::json;
using tender::client::http_response;
using tender::test::openapi_validator;

constexpr const char* spec_text = R"({
  "openapi": "3.1.0",
  "paths": {
    "/things/{id}": {
      "get": {
        "responses": {
          "200": {"description": "x", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
          "404": {"$ref": "#/components/responses/Err"}
        }
      }
    },
    "/things/special": {
      "get": {"responses": {"200": {"description": "x", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
    },
    "/blob": {
      "get": {"responses": {"2XX": {"description": "x", "content": {"application/octet-stream": {}}},
                            "default": {"$ref": "#/components/responses/Err"}}}
    },
    "/empty": {"post": {"responses": {"204": {"description": "nothing"}}}}
  },
  "components": {
    "responses": {
      "Err": {"description": "e", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Error": {"type": "object", "additionalProperties": false, "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"],
                  "properties": {"code": {"enum": ["a.b", "c.d"]}, "message": {"type": "string"}}}}},
      "Thing": {
        "type": "object", "additionalProperties": false,
        "required": ["id", "n", "at", "tags", "kind", "maybe"],
        "properties": {
          "id": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
          "n": {"type": "integer", "minimum": 1, "maximum": 10},
          "at": {"type": "string", "format": "date-time"},
          "tags": {"type": "array", "minItems": 1, "items": {"type": "string"}},
          "kind": {"oneOf": [{"const": "x"}, {"const": "y"}]},
          "maybe": {"type": ["string", "null"]},
          "any": {"anyOf": [{"type": "boolean"}, {"type": "integer"}]}
        }
      }
    }
  }
})";

const openapi_validator& small() {
  static const openapi_validator v(json::parse(spec_text));
  return v;
}

http_response json_response(unsigned status, std::string body) {
  return {status, "application/json", std::move(body), {}};
}

std::string good_thing() {
  return R"({"id":"abc","n":3,"at":"2026-11-22T10:00:00Z","tags":["t"],"kind":"x","maybe":null})";
}

// The problems for a Thing body with one field replaced.
std::vector<std::string> thing_with(const std::string& field, const std::string& value_json) {
  auto o = json::parse(good_thing()).as_object();
  o[field] = json::parse(value_json);
  return small().check("GET", "/things/abc", json_response(200, json::serialize(o)));
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

TEST(openapi_validator, conforming_responses_pass) {
  EXPECT_TRUE(small().check("GET", "/things/abc?x=1", json_response(200, good_thing())).empty());
  EXPECT_TRUE(small()
                  .check("GET", "/things/zz",
                         json_response(404, R"({"error":{"code":"a.b","message":"m"}})"))
                  .empty());
  EXPECT_TRUE(small()
                  .check("GET", "/things/special", {200, "text/plain; charset=utf-8", "hi", {}})
                  .empty());
  EXPECT_TRUE(
      small().check("GET", "/blob", {206, "application/octet-stream", "\x01\x02", {}}).empty());
  EXPECT_TRUE(
      small()
          .check("GET", "/blob", json_response(500, R"({"error":{"code":"c.d","message":""}})"))
          .empty());
  EXPECT_TRUE(small().check("POST", "/empty", {204, "", "", {}}).empty());
  EXPECT_TRUE(thing_with("any", "true").empty());
  EXPECT_TRUE(thing_with("maybe", R"("text")").empty());
}

TEST(openapi_validator, schema_violations_are_reported) {
  EXPECT_TRUE(mentions(thing_with("id", "7"), "$.id: expected string, got integer"));
  EXPECT_TRUE(mentions(thing_with("id", R"("ABC")"), "does not match"));
  EXPECT_TRUE(mentions(thing_with("id", R"("a")"), "shorter than"));
  EXPECT_TRUE(mentions(thing_with("id", R"("abcdef")"), "longer than"));
  EXPECT_TRUE(mentions(thing_with("n", "0"), "below the minimum"));
  EXPECT_TRUE(mentions(thing_with("n", "11"), "above the maximum"));
  EXPECT_TRUE(mentions(thing_with("n", "1.5"), "expected integer"));
  EXPECT_TRUE(mentions(thing_with("at", R"("yesterday")"), "not an RFC 3339 date-time"));
  EXPECT_TRUE(mentions(thing_with("tags", "[]"), "fewer than 1 items"));
  EXPECT_TRUE(mentions(thing_with("tags", "[1]"), "$.tags[0]: expected string"));
  EXPECT_TRUE(mentions(thing_with("kind", R"("z")"), "matches none of oneOf"));
  EXPECT_TRUE(mentions(thing_with("maybe", "3"), "expected string or null"));
  EXPECT_TRUE(mentions(thing_with("any", R"("s")"), "matches none of anyOf"));
  EXPECT_TRUE(mentions(thing_with("extra", "1"), "field 'extra' is not in the schema"));

  auto o = json::parse(good_thing()).as_object();
  o.erase("n");
  EXPECT_TRUE(mentions(small().check("GET", "/things/abc", json_response(200, json::serialize(o))),
                       "required field 'n' is missing"));
  EXPECT_TRUE(
      mentions(small().check("GET", "/things/abc",
                             json_response(404, R"({"error":{"code":"x.y","message":"m"}})")),
               "is not one of"));
  EXPECT_TRUE(
      mentions(small().check("GET", "/things/abc", json_response(200, "{nope")), "not valid JSON"));
}

TEST(openapi_validator, undocumented_path_method_status_and_type_are_reported) {
  EXPECT_TRUE(mentions(small().check("GET", "/nothing", json_response(200, "{}")),
                       "the path is not in the spec"));
  EXPECT_TRUE(mentions(small().check("GET", "/things", json_response(200, "{}")),
                       "the path is not in the spec"));
  EXPECT_TRUE(mentions(small().check("DELETE", "/things/abc", json_response(200, good_thing())),
                       "the method is not documented"));
  EXPECT_TRUE(mentions(small().check("GET", "/things/abc", json_response(409, "{}")),
                       "status 409 is not documented"));
  EXPECT_TRUE(mentions(small().check("GET", "/things/abc", {200, "text/plain", "x", {}}),
                       "content type 'text/plain' is not documented"));
  EXPECT_TRUE(mentions(small().check("POST", "/empty", {204, "application/json", "{}", {}}),
                       "a body is sent where the spec documents none"));
  // The literal path wins over the template: a JSON body there is the wrong type.
  EXPECT_TRUE(mentions(small().check("GET", "/things/special", json_response(200, good_thing())),
                       "content type"));
}

TEST(openapi_validator, keywords_beside_a_ref_apply_too) {
  const auto schema =
      json::parse(R"({"$ref":"#/components/schemas/Thing/properties/n","maximum":5})");
  EXPECT_TRUE(small().validate(json::value(4), schema).empty());
  EXPECT_TRUE(mentions(small().validate(json::value(7), schema), "above the maximum 5"));
  EXPECT_TRUE(mentions(small().validate(json::value(0), schema), "below the minimum 1"));
  EXPECT_TRUE(mentions(small().validate(json::value(1), json::parse(R"({"$ref":"#/nope"})")),
                       "unresolvable $ref"));
}

TEST(openapi_validator, unsupported_keywords_are_reported_not_ignored) {
  const auto schema = json::parse(R"({"type":"string","not":{"const":"a"}})");
  EXPECT_TRUE(
      mentions(small().validate(json::value("b"), schema), "keyword 'not' is not supported"));
}

TEST(openapi_validator, project_spec_loads_and_checks_the_error_document) {
  const auto& v = openapi_validator::project();
  const std::string ok_error = R"({"error":{"code":"auth.required","message":"log in"}})";
  EXPECT_TRUE(v.check("GET", "/api/v1/me", json_response(401, ok_error)).empty());
  EXPECT_TRUE(
      mentions(v.check("GET", "/api/v1/me",
                       json_response(401, R"({"error":{"code":"auth.nope","message":"m"}})")),
               "is not one of"));
  EXPECT_TRUE(mentions(v.check("GET", "/api/v1/me", json_response(200, R"({"id":"root"})")),
                       "required field 'org' is missing"));
  EXPECT_TRUE(mentions(v.check("PUT", "/api/v1/me", json_response(405, ok_error)),
                       "the method is not documented"));
}

}  // namespace
