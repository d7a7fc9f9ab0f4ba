#include <tender/core/config.hpp>

#include <gtest/gtest.h>

#include <map>

using tender::core::config_error;
using tender::core::parse_config;

namespace {

tender::core::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    if (auto it = vars.find(name); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

std::string error_of(const std::string& text, std::map<std::string, std::string> env = {}) {
  try {
    parse_config(text, "test.conf", env_of(std::move(env)));
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(config, defaults_without_file_or_environment) {
  const auto c = parse_config("", "x", env_of({}));
  EXPECT_EQ(c.listen_address, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_FALSE(c.tls_enabled());
  EXPECT_EQ(c.mode, "development");
}

TEST(config, file_values_comments_and_blank_lines) {
  const auto c = parse_config(R"(
# a comment
listen.port = 9000   # trailing comment
database.conninfo = host=/tmp port=5 dbname=x
limits.body_bytes = 2048
shutdown.grace_seconds=3
mode = production
)",
                              "x", env_of({}));
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.database_conninfo, "host=/tmp port=5 dbname=x");
  EXPECT_EQ(c.limits_body_bytes, 2048u);
  EXPECT_EQ(c.shutdown_grace.count(), 3);
  EXPECT_EQ(c.mode, "production");
}

TEST(config, environment_overrides_file) {
  const auto c = parse_config(
      "listen.port = 9000\n", "x",
      env_of({{"TENDERD_LISTEN_PORT", "9100"}, {"TENDERD_DATABASE_CONNINFO", "dbname=env"}}));
  EXPECT_EQ(c.listen_port, 9100);
  EXPECT_EQ(c.database_conninfo, "dbname=env");
  EXPECT_EQ(tender::core::env_name_for("limits.read_timeout_seconds"),
            "TENDERD_LIMITS_READ_TIMEOUT_SECONDS");
}

TEST(config, errors_name_file_line_and_key) {
  EXPECT_NE(error_of("\n\nnonsense\n").find("test.conf:3: expected 'key = value'"),
            std::string::npos);
  EXPECT_NE(error_of("listen.prot = 1\n").find("test.conf:1: unknown key 'listen.prot'"),
            std::string::npos);
  EXPECT_NE(error_of("listen.port = 70000\n").find("between 0 and 65535"), std::string::npos);
  EXPECT_NE(error_of("listen.port = 8o\n").find("whole number"), std::string::npos);
  EXPECT_NE(error_of("listen.port = 1\nlisten.port = 2\n").find("set twice"), std::string::npos);
  EXPECT_NE(error_of("mode = prod\n").find("must be one of development, production"),
            std::string::npos);
  EXPECT_NE(error_of("", {{"TENDERD_IO_THREADS", "0"}}).find("environment TENDERD_IO_THREADS"),
            std::string::npos);
  EXPECT_NE(error_of("tls.certificate = a.pem\n").find("must be set together"), std::string::npos);
}

TEST(config, describe_redacts_passwords) {
  auto c = parse_config("database.conninfo = host=db password=s3cret user=u\n", "x", env_of({}));
  const auto d = tender::core::describe(c);
  EXPECT_EQ(d.at("database.conninfo"), "host=db password=(redacted) user=u");
}

TEST(config, redact_conninfo_hides_passwords_in_every_libpq_form) {
  using tender::core::redact_conninfo;
  // URIs: the userinfo's password and any password parameter (issue 15 §6: the word-by-word
  // redaction printed both in clear).
  EXPECT_EQ(redact_conninfo("postgresql://app:s3cret@db.example:5432/tenders?sslmode=require"),
            "postgresql://app:(redacted)@db.example:5432/tenders?sslmode=require");
  EXPECT_EQ(redact_conninfo("postgres://app:p%40ss@db/x"), "postgres://app:(redacted)@db/x");
  EXPECT_EQ(redact_conninfo("postgresql://app@db/x?connect_timeout=3&password=s3cret&x=1"),
            "postgresql://app@db/x?connect_timeout=3&password=(redacted)&x=1");
  EXPECT_EQ(redact_conninfo("POSTGRESQL://u:pw@h"), "POSTGRESQL://u:(redacted)@h");
  EXPECT_EQ(redact_conninfo("postgresql://h/db"), "postgresql://h/db");
  // key = value words, with blanks around '=' and quoted values holding blanks and quotes.
  EXPECT_EQ(redact_conninfo("host=db password = 'a b\\' c' user=u"),
            "host=db password=(redacted) user=u");
  EXPECT_EQ(redact_conninfo("password=s3cret"), "password=(redacted)");
  EXPECT_EQ(redact_conninfo("host=/tmp dbname='my db'"), "host=/tmp dbname='my db'");
  // What does not parse is not shown at all.
  EXPECT_EQ(redact_conninfo("host=db password='unterminated s3cret"), "(redacted)");
  EXPECT_EQ(redact_conninfo("garbage s3cret"), "(redacted)");
  for (const auto* c : {"postgresql://a:s3cret@h", "host=h password = s3cret",
                        "host=h password='s3 cret'", "postgresql://h?password=s3cret"}) {
    EXPECT_EQ(redact_conninfo(c).find("s3"), std::string::npos) << c;
  }
  auto c = parse_config("database.conninfo = postgresql://u:s3cret@db/x\n", "x", env_of({}));
  EXPECT_EQ(tender::core::describe(c).at("database.conninfo"), "postgresql://u:(redacted)@db/x");
}

TEST(config, audit_keys_defaults_values_and_errors) {
  const auto d = parse_config("", "x", env_of({}));
  EXPECT_EQ(d.audit_signing_key_file, "");
  EXPECT_EQ(d.audit_log_name, "local");
  EXPECT_EQ(d.audit_origin(), "tenderhall/local");
  EXPECT_EQ(d.audit_checkpoint_interval.count(), 10);

  const auto c = parse_config(
      "audit.signing_key_file = /etc/tenderhall/audit.key\n"
      "audit.log_name = example.org/prod\n"
      "audit.checkpoint_interval_seconds = 30\n",
      "x", env_of({{"TENDERD_AUDIT_CHECKPOINT_INTERVAL_SECONDS", "5"}}));
  EXPECT_EQ(c.audit_signing_key_file, "/etc/tenderhall/audit.key");
  EXPECT_EQ(c.audit_origin(), "tenderhall/example.org/prod");
  EXPECT_EQ(c.audit_checkpoint_interval.count(), 5);  // the environment wins
  const auto described = tender::core::describe(c);
  EXPECT_EQ(described.at("audit.signing_key_file"), "/etc/tenderhall/audit.key");
  EXPECT_EQ(described.at("audit.log_name"), "example.org/prod");
  EXPECT_EQ(tender::core::describe(d).at("audit.signing_key_file"), "(none)");

  EXPECT_NE(error_of("audit.log_name = has space\n").find("audit.log_name"), std::string::npos);
  EXPECT_NE(error_of("audit.log_name = a+b\n").find("letters, digits"), std::string::npos);
  EXPECT_NE(error_of("audit.log_name =\n").find("audit.log_name"), std::string::npos);
  EXPECT_NE(error_of("audit.checkpoint_interval_seconds = 0\n").find("between 1 and 86400"),
            std::string::npos);
}

TEST(config, shipped_config_file_parses_and_documents_the_audit_keys) {
  const std::string path = std::string(TENDER_REPO_ROOT) + "/deploy/config/tenderd.conf";
  const auto c = tender::core::load_config(path, env_of({}));
  EXPECT_EQ(c.audit_log_name, "local");
  EXPECT_EQ(c.audit_checkpoint_interval.count(), 10);
}

TEST(config, scheduler_keys_defaults_values_and_errors) {
  const auto d = parse_config("", "x", env_of({}));
  EXPECT_TRUE(d.scheduler_enabled);
  EXPECT_EQ(d.scheduler_poll_interval.count(), 250);

  const auto c = parse_config("scheduler.enabled = false\nscheduler.poll_interval_ms = 1000\n", "x",
                              env_of({{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "50"}}));
  EXPECT_FALSE(c.scheduler_enabled);
  EXPECT_EQ(c.scheduler_poll_interval.count(), 50);  // the environment wins
  EXPECT_EQ(tender::core::describe(c).at("scheduler.enabled"), "false");
  EXPECT_EQ(tender::core::describe(c).at("scheduler.poll_interval_ms"), "50");

  EXPECT_NE(error_of("scheduler.enabled = yes\n").find("must be true or false"), std::string::npos);
  EXPECT_NE(error_of("scheduler.poll_interval_ms = 5\n").find("between 10 and 60000"),
            std::string::npos);

  const std::string path = std::string(TENDER_REPO_ROOT) + "/deploy/config/tenderd.conf";
  const auto shipped = tender::core::load_config(path, env_of({}));
  EXPECT_TRUE(shipped.scheduler_enabled);
  EXPECT_EQ(shipped.scheduler_poll_interval.count(), 250);
}

TEST(config, database_priority_pool_size_defaults_values_and_errors) {
  EXPECT_EQ(parse_config("", "x", env_of({})).database_priority_pool_size, 2u);
  const auto c = parse_config("database.priority_pool_size = 0\n", "x", env_of({}));
  EXPECT_EQ(c.database_priority_pool_size, 0u);  // 0: the hall shares the main pool
  EXPECT_EQ(tender::core::describe(c).at("database.priority_pool_size"), "0");
  const auto e = parse_config("database.priority_pool_size = 3\n", "x",
                              env_of({{"TENDERD_DATABASE_PRIORITY_POOL_SIZE", "5"}}));
  EXPECT_EQ(e.database_priority_pool_size, 5u);  // the environment wins
  EXPECT_NE(error_of("database.priority_pool_size = 65\n").find("database.priority_pool_size"),
            std::string::npos);
  EXPECT_NE(error_of("database.priority_pool_size = two\n"), "");

  const std::string path = std::string(TENDER_REPO_ROOT) + "/deploy/config/tenderd.conf";
  EXPECT_EQ(tender::core::load_config(path, env_of({})).database_priority_pool_size, 2u);
}

TEST(config, crowd_limits_defaults_values_errors_and_the_shipped_file) {
  const auto d = parse_config("", "x", env_of({}));
  EXPECT_EQ(d.limits_connections_per_address, 256u);
  EXPECT_EQ(d.limits_websocket_queue_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(d.limits_challenges_per_minute, 60u);
  EXPECT_EQ(d.hall_hello_timeout.count(), 10000);
  EXPECT_EQ(d.hall_connections_per_user, 8u);
  EXPECT_EQ(d.hall_reserved_connections, 2000u);
  EXPECT_EQ(d.hall_ids_per_connection, 4096u);
  EXPECT_EQ(d.hall_act_rate, 10u);
  EXPECT_EQ(d.hall_act_burst, 40u);
  EXPECT_EQ(d.submission_tender_quota_bytes, 32ull << 30);

  const auto c = parse_config(
      "limits.connections_per_address = 3\nlimits.websocket_queue_bytes = 65536\n"
      "limits.challenges_per_minute = 7\nhall.hello_timeout_ms = 500\n"
      "hall.connections_per_user = 2\nhall.reserved_connections = 0\n"
      "hall.ids_per_connection = 16\nhall.act_rate = 1\nhall.act_burst = 1\n",
      "x", env_of({{"TENDERD_HALL_ACT_BURST", "9"}}));
  EXPECT_EQ(c.limits_connections_per_address, 3u);
  EXPECT_EQ(c.limits_websocket_queue_bytes, 65536u);
  EXPECT_EQ(c.limits_challenges_per_minute, 7u);
  EXPECT_EQ(c.hall_hello_timeout.count(), 500);
  EXPECT_EQ(c.hall_connections_per_user, 2u);
  EXPECT_EQ(c.hall_reserved_connections, 0u);
  EXPECT_EQ(c.hall_ids_per_connection, 16u);
  EXPECT_EQ(c.hall_act_rate, 1u);
  EXPECT_EQ(c.hall_act_burst, 9u);  // the environment wins
  EXPECT_EQ(tender::core::describe(c).at("hall.act_burst"), "9");
  EXPECT_EQ(tender::core::describe(c).at("limits.connections_per_address"), "3");

  EXPECT_NE(error_of("limits.connections_per_address = 0\n").find("between 1 and"),
            std::string::npos);
  EXPECT_NE(error_of("limits.websocket_queue_bytes = 1024\n").find("between 65536 and"),
            std::string::npos);
  EXPECT_NE(error_of("hall.hello_timeout_ms = 10\n").find("hall.hello_timeout_ms"),
            std::string::npos);
  EXPECT_NE(error_of("hall.act_rate = 0\n").find("hall.act_rate"), std::string::npos);

  // The shipped file lists every one of them with its default.
  const std::string path = std::string(TENDER_REPO_ROOT) + "/deploy/config/tenderd.conf";
  const auto shipped = tender::core::load_config(path, env_of({}));
  const auto want = tender::core::describe(d);
  const auto got = tender::core::describe(shipped);
  for (const char* k :
       {"limits.connections_per_address", "limits.websocket_queue_bytes",
        "limits.challenges_per_minute", "hall.hello_timeout_ms", "hall.connections_per_user",
        "hall.reserved_connections", "hall.ids_per_connection", "hall.act_rate", "hall.act_burst",
        "submission.tender_quota_bytes"}) {
    EXPECT_EQ(got.at(k), want.at(k)) << k;
  }
}
