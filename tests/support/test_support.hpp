#pragma once

// Helpers shared by the integration and end-to-end tiers: the throwaway PostgreSQL cluster that
// CTest's `postgres` fixture starts, fresh databases in it, free ports, child processes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tender::test {

std::string repo_root();
// A new empty directory under the system temp dir, removed by nobody: tests leave evidence.
std::string make_temp_dir(const std::string& hint);

// Connection string of the throwaway cluster's maintenance database. Fails the test with a clear
// message when the cluster is not running (run the tests through ctest or deploy/test.sh).
std::string cluster_conninfo();
// `conninfo` with its dbname replaced.
std::string with_dbname(const std::string& conninfo, const std::string& dbname);

// A database of its own for one test, dropped afterwards. Migrated unless told otherwise. In the
// shared throwaway cluster, or in the cluster of `cluster` (a maintenance conninfo) when given.
class fresh_database {
public:
  explicit fresh_database(const std::string& hint = "t", bool migrate = true,
                          std::string cluster = {});
  ~fresh_database();
  fresh_database(const fresh_database&) = delete;
  fresh_database& operator=(const fresh_database&) = delete;

  const std::string& name() const { return name_; }
  const std::string& conninfo() const { return conninfo_; }
  // Runs one SQL statement and returns the first column of the first row ("" when no row).
  std::string query_value(const std::string& sql) const;
  void exec(const std::string& sql) const;

private:
  std::string cluster_;
  std::string name_;
  std::string conninfo_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(50));

// A child process with extra environment; stdout and stderr go to `log_path`.
class child_process {
public:
  child_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                const std::string& log_path);
  ~child_process();  // SIGKILL if still running
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  int pid() const { return pid_; }
  bool running();
  void send_signal(int sig);
  // Exit code (128 + signal when killed by one), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

private:
  int pid_ = -1;
  std::optional<int> status_;
};

// The full path of executable `name` found on PATH (child_process runs a path, not a name); ""
// when absent.
std::string on_path(const std::string& name);

// Runs a command to completion, returning exit code and combined output.
struct run_result {
  int exit_code;
  std::string output;
};
run_result run_command(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env = {});

std::string read_file(const std::string& path);

// The real tenderd binary on a free port, with its log in a temp dir.
class tenderd_process {
public:
  explicit tenderd_process(const std::string& conninfo,
                           std::map<std::string, std::string> env = {});
  ~tenderd_process();

  std::uint16_t port() const { return port_; }
  std::string url() const;
  std::string log() const { return read_file(log_path_); }
  child_process& process() { return *process_; }
  // SIGTERM and wait; returns the exit code (nullopt on timeout).
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));

private:
  std::string dir_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
  std::unique_ptr<child_process> process_;
};

// The guarantee issuer simulator (tools/guarantee-sim) as a process of its own on a free port,
// signing with the PEM private key in `key_file`, sending pushes and callbacks to `platform_url`.
class guarantee_sim_process {
public:
  guarantee_sim_process(const std::string& issuer_org, const std::string& platform_url,
                        const std::string& key_file);
  ~guarantee_sim_process();
  guarantee_sim_process(const guarantee_sim_process&) = delete;
  guarantee_sim_process& operator=(const guarantee_sim_process&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(log_path_); }

private:
  std::string dir_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

}  // namespace tender::test
