#pragma once

// Shared by the database tests: run a coroutine of the db layer to completion from a test body,
// and read the stable code of the db::error a call throws.

#include <tender/db/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <functional>
#include <string>

namespace tender::test {

// Runs `body` on a fresh io_context driven by the calling thread and returns its result (or
// rethrows what it threw).
template <class T>
T run_on_io(boost::asio::awaitable<T> body) {
  boost::asio::io_context ioc;
  auto f = boost::asio::co_spawn(ioc, std::move(body), boost::asio::use_future);
  ioc.run();
  return f.get();
}

// The code of the db::error `f` throws; "" when it throws none.
inline std::string db_error_code(const std::function<void()>& f) {
  try {
    f();
  } catch (const tender::db::error& e) {
    return e.code();
  }
  return "";
}

}  // namespace tender::test
