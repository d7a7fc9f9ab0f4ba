// tender feed list | follow: the public change feed (docs/FEED.md). No login needed.

#include "command.hpp"

#include <tender/client/feed.hpp>

#include <cstdint>
#include <limits>

namespace tender::cli {
namespace po = boost::program_options;

namespace {

constexpr const char* list_usage =
    R"(tender feed list — print events of the public change feed, one JSON object per line

Usage:
  tender [--server URL] feed list [--after SEQ] [--limit N] [--tender ID] [--all]

The feed numbers every public change 1, 2, 3, ... in commit order, with no gaps. SEQ is a cursor:
the seq of the last event you have seen (0, the default, starts at the beginning). Prints at most
N events after SEQ (default 100, the server caps it at 1000), or with --all every event up to the
current head, page by page. On stderr, a last line gives the cursor to continue from and the head.
--tender ID keeps only that tender's events.

Examples:
  tender feed list
  tender feed list --after 120 --limit 20
  tender feed list --tender t-0123456789abcdef --all
)";

constexpr const char* follow_usage =
    R"(tender feed follow — follow the public change feed live, one JSON object per line

Usage:
  tender [--server URL] feed follow [--after SEQ] [--tender ID] [--count N]

Connects to the feed's WebSocket (ws:// or wss:// on the server's address), prints every event
after SEQ (default 0: the whole feed), then each new event as it is committed, in order. If the
connection drops it reconnects from the last event printed, so nothing is missed or repeated.
Stops after N events with --count, otherwise runs until interrupted.

Examples:
  tender feed follow --after 120
  tender feed follow --tender t-0123456789abcdef --count 1
)";

std::int64_t cursor_option(const po::variables_map& vm) {
  const auto v = vm["after"].as<long long>();
  if (v < 0) throw error(codes::bad_input, "--after must be 0 or more, got " + std::to_string(v));
  return static_cast<std::int64_t>(v);
}

std::optional<std::string> tender_option(const po::variables_map& vm) {
  if (vm.count("tender") == 0u) return std::nullopt;
  return vm["tender"].as<std::string>();
}

int list(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("after", po::value<long long>()->default_value(0), "cursor: last seq seen")(
      "limit", po::value<long long>()->default_value(100), "events per page (server cap 1000)")(
      "tender", po::value<std::string>(), "only this tender's events")(
      "all", po::bool_switch(), "page through to the current head");
  int code = 0;
  auto vm = parse_command_args(ctx, args, list_usage, opts, {}, code);
  if (!vm) return code;
  const auto limit = (*vm)["limit"].as<long long>();
  if (limit < 1) return usage_error(ctx, "--limit must be at least 1");
  auto c = ctx.make_client();
  std::int64_t cursor = cursor_option(*vm);
  const auto tender = tender_option(*vm);
  const bool all = (*vm)["all"].as<bool>();
  std::int64_t head = 0;
  for (;;) {
    const auto page = client::feed_page(c, cursor, static_cast<std::size_t>(limit), tender);
    for (const auto& e : page.events)
      ctx.out << e.json << "\n";
    cursor = page.next;
    head = page.head;
    if (!all || page.events.empty() || cursor >= page.head) break;
  }
  ctx.out.flush();
  ctx.err << "next cursor: " << cursor << " (feed head " << head << ")\n";
  return exit_ok;
}

int follow(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("after", po::value<long long>()->default_value(0), "cursor: last seq seen")(
      "tender", po::value<std::string>(), "only this tender's events")(
      "count", po::value<long long>(), "stop after this many events");
  int code = 0;
  auto vm = parse_command_args(ctx, args, follow_usage, opts, {}, code);
  if (!vm) return code;
  long long count = std::numeric_limits<long long>::max();
  if (vm->count("count") != 0u) {
    count = (*vm)["count"].as<long long>();
    if (count < 1) return usage_error(ctx, "--count must be at least 1");
  }
  client::options o;
  o.server = ctx.server;
  o.ca_file = ctx.ca_file;
  o.insecure = ctx.insecure;
  client::follow_options f;
  f.tender = tender_option(*vm);
  f.on_disconnect = [&ctx](const client::error& e) {
    ctx.err << "tender: feed connection lost (" << e.what() << " [" << e.code()
            << "]); reconnecting\n";
  };
  long long seen = 0;
  client::follow_feed(
      o, cursor_option(*vm),
      [&](const client::feed_event& e) {
        ctx.out << e.json << "\n";
        ctx.out.flush();
        return ++seen < count;
      },
      f);
  return exit_ok;
}

}  // namespace

void add_feed_commands(std::vector<command>& out) {
  out.push_back({"feed list", "print events of the public change feed (JSON lines)", list});
  out.push_back({"feed follow", "follow the public change feed live (JSON lines)", follow});
}

}  // namespace tender::cli
