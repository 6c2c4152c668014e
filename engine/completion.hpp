#pragma once
// completion: a type-erased completion handler, the outstanding work it holds on its
// executor, and the one call that completes it.

#include <taskorch/detail/inline_executor.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>

#include <utility>

namespace taskorch::detail {

namespace asio = boost::asio;

using io_executor = asio::io_context::executor_type;
using io_strand = asio::strand<io_executor>;

template <class Signature>
class completion;

/// Holds a handler until the operation completes; keeps its executor's work tracked so
/// that, for example, an io_context running a coroutine does not run out of work.
template <class... Args>
class completion<void(Args...)> {
 public:
  using handler_type = asio::any_completion_handler<void(Args...)>;

  /// Empty: an operation holds one until it is given the handler it will complete.
  completion() = default;

  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;
  completion(completion&&) noexcept = default;
  // Boost 1.81's any_completion_handler move assignment copies its source as an lvalue,
  // which wraps the handler in itself without end: move through a swap instead.
  completion& operator=(completion&& other) noexcept {
    handler_type(std::move(other.handler_)).swap(handler_);
    work_ = std::move(other.work_);
    return *this;
  }
  ~completion() = default;

  explicit completion(handler_type handler)
      : handler_(std::move(handler)),
        work_(asio::prefer(asio::get_associated_executor(handler_, asio::system_executor()),
                           asio::execution::outstanding_work_t::tracked)) {}

  /// Completes on an engine thread: dispatches to the handler's executor, or runs the
  /// handler right here when it has none (`here` is the running engine thread's executor).
  template <class Executor, class... A>
  void dispatch_from(const Executor& here, A&&... args) {
    {
      auto ex = asio::get_associated_executor(handler_, here);
      asio::dispatch(ex, asio::append(std::move(handler_), std::forward<A>(args)...));
    }  // every copy of the handler's executor is gone before its work is released, so the
       // context may be destroyed as soon as it runs out of work
    work_ = {};
  }

  /// Completes from outside the engine's threads (the initiating call, or after stop), so
  /// that the handler never runs inside the initiating call: posts to the handler's
  /// executor. A type-erased executor cannot be required not to block, so the common
  /// concrete ones are posted to directly; others go through `fallback` first. A handler
  /// bound to inline_executor (the blocking wrappers, which wait for it) runs right here.
  template <class Executor, class... A>
  void post_via(const Executor& fallback, A&&... args) {
    {
      auto ex = asio::get_associated_executor(handler_, fallback);
      auto call = [h = std::move(handler_), ... values = std::forward<A>(args)]() mutable {
        std::move(h)(std::move(values)...);
      };
      if (ex.template target<inline_executor>() != nullptr) {
        std::move(call)();
      } else if (const auto* io = ex.template target<asio::any_io_executor>()) {
        asio::post(*io, std::move(call));
      } else if (const auto* strand = ex.template target<io_strand>()) {
        asio::post(*strand, std::move(call));
      } else if (const auto* context = ex.template target<io_executor>()) {
        asio::post(*context, std::move(call));
      } else {
        // The work guard travels with the hop, and is released last there too.
        asio::post(fallback, [ex, call = std::move(call), work = std::move(work_)]() mutable {
          asio::dispatch(ex, std::move(call));
          ex = asio::any_completion_executor();
          work = asio::any_completion_executor();
        });
      }
    }  // as in dispatch_from: no copy of the executor outlives its work
    work_ = {};
  }

 private:
  handler_type handler_;
  asio::any_completion_executor work_;
};

}  // namespace taskorch::detail
