#include "test_support.hpp"

#include <tender/db/migrations.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tender::test {
namespace fs = std::filesystem;

namespace {

std::string random_suffix() {
  std::random_device rd;
  std::string s;
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int i = 0; i < 10; ++i)
    s.push_back(alphabet[rd() % 36]);
  return s;
}

std::string sanitize(const std::string& hint) {
  std::string out;
  for (char ch : hint) {
    if (std::isalnum(static_cast<unsigned char>(ch)) != 0) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    } else {
      out.push_back('_');
    }
  }
  return out.substr(0, 30);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string repo_root() {
  return TENDER_REPO_ROOT;
}

std::string make_temp_dir(const std::string& hint) {
  const fs::path p = fs::temp_directory_path() / ("th-" + sanitize(hint) + "-" + random_suffix());
  fs::create_directories(p);
  return p.string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string cluster_conninfo() {
  const std::string file = std::string(TENDER_TEST_PG_DIR) + "/conninfo";
  std::string text = read_file(file);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (text.empty()) {
    throw std::runtime_error("no throwaway PostgreSQL cluster (" + file +
                             " missing): run the tests with ctest or deploy/test.sh");
  }
  return text;
}

std::string with_dbname(const std::string& conninfo, const std::string& dbname) {
  std::istringstream words(conninfo);
  std::string word;
  std::string out;
  while (words >> word) {
    if (word.rfind("dbname=", 0) == 0) continue;
    out += word + " ";
  }
  return out + "dbname=" + dbname;
}

fresh_database::fresh_database(const std::string& hint, bool migrate, std::string cluster)
    : cluster_(cluster.empty() ? cluster_conninfo() : std::move(cluster)) {
  name_ = "t_" + sanitize(hint) + "_" + random_suffix();
  {
    pqxx::connection admin(cluster_);
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  }
  conninfo_ = with_dbname(cluster_, name_);
  if (migrate) db::migrate(conninfo_);
}

fresh_database::~fresh_database() {
  try {
    pqxx::connection admin(cluster_);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not drop test database " << name_ << ": " << e.what();
  }
}

std::string fresh_database::query_value(const std::string& sql) const {
  pqxx::connection c(conninfo_);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

void fresh_database::exec(const std::string& sql) const {
  pqxx::connection c(conninfo_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a free port");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

child_process::child_process(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env,
                             const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    for (const auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  if (running()) {
    send_signal(SIGKILL);
    wait(std::chrono::seconds(10));
  }
}

bool child_process::running() {
  if (status_) return false;
  int status = 0;
  const int r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(status);
    return false;
  }
  return r == 0;
}

void child_process::send_signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  wait_until([this] { return !running(); }, timeout, std::chrono::milliseconds(10));
  return status_;
}

run_result run_command(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env) {
  const std::string dir = make_temp_dir("cmd");
  const std::string log = dir + "/out.txt";
  child_process p(argv, env, log);
  const auto code = p.wait(std::chrono::seconds(120));
  run_result r{code.value_or(-1), read_file(log)};
  fs::remove_all(dir);
  return r;
}

tenderd_process::tenderd_process(const std::string& conninfo,
                                 std::map<std::string, std::string> env) {
  dir_ = make_temp_dir("tenderd");
  log_path_ = dir_ + "/tenderd.log";
  const std::string port_file = dir_ + "/port";
  env.emplace("TENDERD_LISTEN_PORT", "0");
  env.emplace("TENDERD_DATABASE_CONNINFO", conninfo);
  env.emplace("TENDERD_DATABASE_RETRY_INTERVAL_MS", "200");
  env.emplace("TENDERD_LOG_LEVEL", "debug");
  // Every client of a test comes from 127.0.0.1, which production would take for one crowding
  // client: the per-address limits are lifted unless the test sets them (tests/e2e/hall_crowd_test
  // does, and sends its crowd from 127.0.0.2).
  env.emplace("TENDERD_LIMITS_CONNECTIONS_PER_ADDRESS", "1000000");
  env.emplace("TENDERD_LIMITS_CHALLENGES_PER_MINUTE", "1000000");
  // Files (blobs, partial uploads) in the process's temp dir unless the test keeps them across
  // restarts by passing its own directory.
  env.emplace("TENDERD_STORAGE_DATA_DIR", dir_ + "/data");
  tls_ = env.count("TENDERD_TLS_CERTIFICATE") != 0;
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{TENDER_TENDERD_PATH, "--port-file", port_file}, env, log_path_);
  const bool bound = wait_until([&] { return fs::exists(port_file) || !process_->running(); },
                                std::chrono::seconds(30));
  if (!bound || !fs::exists(port_file)) {
    throw std::runtime_error("tenderd did not start; its log:\n" + log());
  }
  port_ = static_cast<std::uint16_t>(std::stoi(read_file(port_file)));
}

tenderd_process::~tenderd_process() {
  if (process_ && process_->running()) stop();
}

std::string tenderd_process::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::optional<int> tenderd_process::stop(std::chrono::milliseconds timeout) {
  process_->send_signal(SIGTERM);
  return process_->wait(timeout);
}

guarantee_sim_process::guarantee_sim_process(const std::string& issuer_org,
                                             const std::string& platform_url,
                                             const std::string& key_file) {
  dir_ = make_temp_dir("guarantee-sim");
  log_path_ = dir_ + "/guarantee-sim.log";
  const std::string port_file = dir_ + "/port";
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{TENDER_GUARANTEE_SIM_PATH, "--issuer", issuer_org, "--platform",
                               platform_url, "--key", key_file, "--port", "0", "--port-file",
                               port_file, "--state", dir_ + "/state.json"},
      std::map<std::string, std::string>{}, log_path_);
  const bool bound = wait_until([&] { return fs::exists(port_file) || !process_->running(); },
                                std::chrono::seconds(30));
  if (!bound || !fs::exists(port_file)) {
    throw std::runtime_error("guarantee-sim did not start; its log:\n" + log());
  }
  port_ = static_cast<std::uint16_t>(std::stoi(read_file(port_file)));
}

guarantee_sim_process::~guarantee_sim_process() {
  if (process_ && process_->running()) {
    process_->send_signal(SIGTERM);
    process_->wait(std::chrono::seconds(10));
  }
}

std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = fs::path(dir) / name;
    if (!dir.empty() && fs::exists(candidate)) return candidate.string();
  }
  return {};
}

}  // namespace tender::test
