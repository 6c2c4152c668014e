#pragma once
// engine_directory: which engine serves a project's requests (api.hpp). A single server has one
// engine for every project (single_engine). In the scale-out mode a node has one engine for
// each partition it holds; a project of another partition is served by that partition's owner,
// or, for a moment during a failover, by nobody (docs/scale-out.md).
//
//   taskorch::engine eng;
//   taskorch::http::single_engine everything(eng);
//   taskorch::http::api service(everything, callers);

#include <taskorch/engine.hpp>
#include <taskorch/project_id.hpp>

#include <memory>
#include <string>
#include <vector>

namespace taskorch::http {

/// Where a project's requests go.
struct project_home {
  /// The engine serving the project here; nullptr when no engine here does.
  std::shared_ptr<engine> local;
  /// Otherwise the address (HOST:PORT) of the node serving it; "" when none does now.
  std::string owner;
};

/// Thread safety: implementations may be called from any thread.
class engine_directory {
 public:
  virtual ~engine_directory() = default;
  virtual project_home find(const project_id& project) const = 0;
  /// Every engine serving here now (the metrics add them up).
  virtual std::vector<std::shared_ptr<engine>> engines() const = 0;
};

/// One engine for every project. The engine must outlive the directory.
class single_engine final : public engine_directory {
 public:
  explicit single_engine(engine& eng) : engine_(std::shared_ptr<engine>(), &eng) {}
  project_home find(const project_id&) const override { return {engine_, {}}; }
  std::vector<std::shared_ptr<engine>> engines() const override { return {engine_}; }

 private:
  std::shared_ptr<engine> engine_;  // not owning
};

}  // namespace taskorch::http
