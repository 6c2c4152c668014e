#pragma once
// engine_options: how an engine is sized, and where it keeps its registry.
//
//   taskorch::engine eng({.threads = 2, .shards = 8});
//   taskorch::engine durable({.storage = {.directory = "taskorch-data"}});

#include <taskorch/storage_options.hpp>

#include <cstddef>
#include <exception>
#include <functional>

namespace taskorch {

/// Construction options of taskorch::engine.
struct engine_options {
  /// Worker threads, each running its own io_context. 0 picks the hardware concurrency.
  std::size_t threads = 0;
  /// Registry shards, each owned by one strand. 0 picks one per thread. At most 65535.
  std::size_t shards = 0;
  /// The largest batch a command or query accepts (errc::batch_too_large above it). Must be
  /// below 2^32 - 1 (std::invalid_argument from the engine's constructor otherwise).
  std::size_t max_batch_items = 1'000'000;
  /// Batches of at most this many items run on the calling thread when their shards are
  /// idle, so that they wake no engine thread; a larger batch (any batch, with 0) has one of
  /// its parts run there and the others on the engine threads. Nothing runs inline on an
  /// engine thread, nor while anyone is subscribed.
  std::size_t inline_batch_items = 256;
  /// Receives an exception that escaped a handler run on an engine thread (a completion
  /// handler without an executor of its own, for instance); the thread then goes on serving
  /// its shards. The operation that called the handler has completed. Empty (the default):
  /// the program terminates, as it does for an exception escaping any thread.
  std::function<void(std::exception_ptr)> unhandled_exception;
  /// How many of the latest changes the event feed keeps (engine::read_feed()); older ones
  /// are dropped. 0 picks 65536. Its memory is taken when the engine starts.
  std::size_t feed_capacity = 0;
  /// Where the registry is kept on disk and how durably (storage_options.hpp). The default,
  /// an empty directory, keeps it in memory only.
  storage_options storage;
};

}  // namespace taskorch
