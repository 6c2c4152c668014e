#pragma once
// response_completion: the one way the api completes a request. It holds the requester's
// handler and keeps work counted on its associated executor until the response is posted
// there, so a server's io_context cannot run out of work while the engine still answers one of
// its requests. complete() always posts: the handler never runs inside the call that started
// the request, nor on the thread that computed the response.
//
//   detail::response_completion done(std::move(handler));
//   engine.async_count(asio::bind_executor(done.executor(), [done = std::move(done)](...) mutable {
//     done.complete(std::move(r));
//   }));

#include <taskorch/http/request_handler.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>

#include <utility>

namespace taskorch::http::detail {

class response_completion {
 public:
  explicit response_completion(boost::asio::any_completion_handler<void(response)> h)
      : handler_(std::move(h)),
        work_(boost::asio::prefer(
            boost::asio::get_associated_executor(handler_, boost::asio::system_executor()),
            boost::asio::execution::outstanding_work_t::tracked)) {}

  /// The requester's executor (the system executor when it has none). Engine callbacks are
  /// bound to it, so the response is written on the requester's side, not on an engine thread.
  boost::asio::any_completion_executor executor() const {
    return boost::asio::get_associated_executor(handler_, boost::asio::system_executor());
  }

  /// Posts the handler with `r` to its executor. Call once. A type-erased executor cannot be
  /// required not to block, so the common concrete ones are posted to directly; any other is
  /// reached through a hop to the system executor, so the handler still never runs here.
  void complete(response r) {
    namespace asio = boost::asio;
    {
      auto ex = executor();
      auto call = [h = std::move(handler_), r = std::move(r)]() mutable {
        std::move(h)(std::move(r));
      };
      if (const auto* io = ex.target<asio::any_io_executor>()) {
        asio::post(*io, std::move(call));
      } else if (const auto* context = ex.target<asio::io_context::executor_type>()) {
        asio::post(*context, std::move(call));
      } else if (const auto* strand = ex.target<asio::strand<asio::io_context::executor_type>>()) {
        asio::post(*strand, std::move(call));
      } else {
        // The work guard travels with the hop, and is released last there too.
        asio::post(asio::system_executor(),
                   [ex, call = std::move(call), work = std::move(work_)]() mutable {
                     asio::dispatch(ex, std::move(call));
                     ex = asio::any_completion_executor();
                     work = asio::any_completion_executor();
                   });
      }
    }  // no copy of the executor outlives its work: the context may go once it has none
    work_ = {};
  }

 private:
  boost::asio::any_completion_handler<void(response)> handler_;
  boost::asio::any_completion_executor work_;
};

}  // namespace taskorch::http::detail
