#pragma once
// Internal: the completion token of the engine's blocking wrappers. An operation started
// with it runs as usual, and the initiating call waits for its completion and returns the
// result: `eng.pause(project, items)` is `eng.async_pause(project, items, <this token>)`.
// The wait is refused (errc::would_deadlock) on the engine's own threads, which it would
// block; an operation that ran entirely on the calling thread completes without any wait.

#include <taskorch/detail/inline_executor.hpp>
#include <taskorch/error.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/system/system_error.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace taskorch::detail {

class engine_core;

/// Returns true on one of `core`'s threads, or while the calling thread runs a part inline.
bool on_engine_thread(const engine_core& core) noexcept;

/// Waits for the operation it completes. `ec` null: a whole-operation error is thrown as
/// boost::system::system_error; else it is stored there and nothing throws.
struct blocking_token {
  const engine_core* core;
  error_code* ec;
};

/// Starts an operation whose handler takes (error_code, Result) and waits for it.
template <class Result, class Initiation, class... Args>
Result run_blocking(Initiation&& initiation, blocking_token token, Args&&... args) {
  error_code local;
  error_code& ec = token.ec != nullptr ? *token.ec : local;
  if (on_engine_thread(*token.core)) {
    ec = errc::would_deadlock;
    if (token.ec == nullptr) throw boost::system::system_error(ec);
    return Result();
  }
  Result result;
  // When every part ran inline, the handler runs right here, inside the initiation: then
  // nothing needs waking, nor any lock. Otherwise it runs on an engine thread and wakes this
  // one.
  const std::thread::id waiter = std::this_thread::get_id();
  bool initiation_returned = false;
  bool done_here = false;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::forward<Initiation>(initiation)(
      boost::asio::bind_executor(inline_executor(),
                                 [&](error_code e, Result r) {
                                   if (std::this_thread::get_id() == waiter &&
                                       !initiation_returned) {
                                     ec = e;
                                     result = std::move(r);
                                     done_here = true;
                                     return;
                                   }
                                   std::lock_guard lock(mutex);  // the waiter cannot return
                                   ec = e;                       // before notify_one()
                                   result = std::move(r);
                                   done = true;
                                   cv.notify_one();
                                 }),
      std::forward<Args>(args)...);
  initiation_returned = true;
  if (!done_here) {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
  }
  if (ec && token.ec == nullptr) throw boost::system::system_error(ec);
  return result;
}

}  // namespace taskorch::detail

template <class Result>
struct boost::asio::async_result<taskorch::detail::blocking_token,
                                 void(taskorch::error_code, Result)> {
  using return_type = Result;

  template <class Initiation, class... Args>
  static Result initiate(Initiation&& initiation, taskorch::detail::blocking_token token,
                         Args&&... args) {
    return taskorch::detail::run_blocking<Result>(std::forward<Initiation>(initiation), token,
                                                  std::forward<Args>(args)...);
  }
};
