#pragma once
// inline_executor: an executor that runs a function at once, on the calling thread. The
// blocking wrappers bind their completion to it, so that an operation that finished on the
// caller's own thread wakes nobody, and one that finished on an engine thread completes
// there without a second hop.

#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/system_executor.hpp>

#include <utility>

namespace taskorch::detail {

namespace asio = boost::asio;

struct inline_executor {
  template <class F>
  void execute(F&& f) const {
    std::forward<F>(f)();
  }
  asio::execution_context& query(asio::execution::context_t) const noexcept {
    return asio::query(asio::system_executor(), asio::execution::context);
  }
  static constexpr asio::execution::blocking_t query(asio::execution::blocking_t) noexcept {
    return asio::execution::blocking.always;
  }
  friend bool operator==(const inline_executor&, const inline_executor&) noexcept { return true; }
  friend bool operator!=(const inline_executor&, const inline_executor&) noexcept { return false; }
};

static_assert(asio::execution::is_executor<inline_executor>::value);

}  // namespace taskorch::detail
