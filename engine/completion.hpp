#pragma once
// completion: a type-erased completion handler, the outstanding work it holds on its
// executor, and the one call that completes it.

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>

#include <utility>

namespace taskorch::detail {

namespace asio = boost::asio;

template <class Signature>
class completion;

/// Holds a handler until the operation completes; keeps its executor's work tracked so
/// that, for example, an io_context running a coroutine does not run out of work.
template <class... Args>
class completion<void(Args...)> {
 public:
  using handler_type = asio::any_completion_handler<void(Args...)>;

  explicit completion(handler_type handler)
      : handler_(std::move(handler)),
        work_(asio::prefer(asio::get_associated_executor(handler_, asio::system_executor()),
                           asio::execution::outstanding_work.tracked)) {}

  /// Completes on an engine thread: dispatches to the handler's executor, or runs the
  /// handler right here when it has none (`here` is the running engine thread's executor).
  template <class Executor, class... A>
  void dispatch_from(const Executor& here, A&&... args) {
    auto ex = asio::get_associated_executor(handler_, here);
    asio::dispatch(ex, asio::append(std::move(handler_), std::forward<A>(args)...));
    work_ = {};
  }

  /// Completes from outside the engine's threads (the initiating call, or after stop):
  /// posts to `fallback`, then dispatches to the handler's executor from there, so the
  /// handler never runs inside the initiating call.
  template <class Executor, class... A>
  void post_via(const Executor& fallback, A&&... args) {
    asio::post(fallback,
               [self = std::move(*this), fallback, ... values = std::forward<A>(args)]() mutable {
                 self.dispatch_from(fallback, std::move(values)...);
               });
  }

 private:
  handler_type handler_;
  asio::any_completion_executor work_;
};

}  // namespace taskorch::detail
