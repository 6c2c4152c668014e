#include "strand_pool.hpp"

namespace taskorch::detail {

namespace {
// The pool and the context the calling thread runs, when it is a pool thread.
// NOLINTBEGIN(cppcoreguidelines-avoid-non-const-global-variables): per thread, by design
thread_local const strand_pool* current_pool = nullptr;
thread_local asio::io_context* current_context = nullptr;
// NOLINTEND(cppcoreguidelines-avoid-non-const-global-variables)
}  // namespace

strand_pool::strand_pool(std::size_t threads, std::size_t shards, exception_hook on_exception)
    : on_exception_(std::move(on_exception)) {
  contexts_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  strands_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) strands_.emplace_back(context_executor(i));
  threads_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, ctx = contexts_[i].get()] { run(*ctx); });
    }
  } catch (...) {
    join();  // the threads already started must not outlive the pool
    throw;
  }
}

strand_pool::~strand_pool() { join(); }

void strand_pool::run(asio::io_context& context) {
  current_pool = this;
  current_context = &context;
  for (;;) {
    try {
      context.run();
      break;
    } catch (...) {
      if (!on_exception_) throw;  // out of the thread: std::terminate
      on_exception_(std::current_exception());
    }
  }
  current_context = nullptr;
  current_pool = nullptr;
}

asio::io_context* strand_pool::current() const noexcept {
  return current_pool == this ? current_context : nullptr;
}

void strand_pool::join() {
  guards_.clear();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace taskorch::detail
