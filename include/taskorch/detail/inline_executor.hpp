#pragma once
// Internal: an executor that runs a function at once, on the calling thread. The blocking
// wrappers bind their completion to it, so that an operation that finished on the caller's
// own thread wakes nobody, and one that finished on an engine thread completes there without
// a second hop.

#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/system_executor.hpp>

#include <utility>

namespace taskorch::detail {

struct inline_executor {
  template <class F>
  void execute(F&& f) const {
    std::forward<F>(f)();
  }
  static boost::asio::execution_context& query(boost::asio::execution::context_t) noexcept {
    return boost::asio::query(boost::asio::system_executor(), boost::asio::execution::context);
  }
  static constexpr boost::asio::execution::blocking_t query(
      boost::asio::execution::blocking_t) noexcept {
    return boost::asio::execution::blocking_t::always;
  }
  friend bool operator==(const inline_executor&, const inline_executor&) noexcept { return true; }
  friend bool operator!=(const inline_executor&, const inline_executor&) noexcept { return false; }
};

static_assert(boost::asio::execution::is_executor<inline_executor>::value);

}  // namespace taskorch::detail
