#pragma once
// strand_pool: a fixed set of threads, each running its own io_context, and one strand per
// shard on top of them (shard i on context i % threads). One io_context per thread avoids
// the lock contention of several threads sharing one context.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace taskorch::detail {

namespace asio = boost::asio;

/// Threads, io_contexts and the strands that own the shards.
/// Thread safety: strand() and current() may be called from any thread; join() from one
/// thread that is not a pool thread.
class strand_pool {
 public:
  using executor_type = asio::io_context::executor_type;
  using strand_type = asio::strand<executor_type>;
  using exception_hook = std::function<void(std::exception_ptr)>;

  /// Starts `threads` threads. An exception escaping a handler goes to `on_exception`, and the
  /// thread goes on running its context; without a hook it terminates the program. Throws
  /// std::system_error, with every thread it started joined again, when a thread cannot start.
  strand_pool(std::size_t threads, std::size_t shards, exception_hook on_exception);
  ~strand_pool();

  strand_pool(const strand_pool&) = delete;
  strand_pool& operator=(const strand_pool&) = delete;

  /// The strand that owns shard `i`.
  const strand_type& strand(std::size_t i) const { return strands_[i]; }

  /// The executor of the io_context that shard `i`'s strand runs on.
  executor_type context_executor(std::size_t i) const {
    return contexts_[i % contexts_.size()]->get_executor();
  }

  /// The io_context the calling thread runs, when it is one of this pool's threads.
  asio::io_context* current() const noexcept;

  /// Lets the threads finish their queued work, then joins them. Idempotent.
  void join();

 private:
  void run(asio::io_context& context);

  exception_hook on_exception_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<executor_type>> guards_;
  std::vector<strand_type> strands_;
  std::vector<std::thread> threads_;
};

}  // namespace taskorch::detail
