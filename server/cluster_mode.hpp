#pragma once
// cluster_mode: taskorch-server with --postgres (docs/scale-out.md): the node serving its share
// of the database's partitions, on an io_context and thread of its own, so that its rounds of
// renewal never wait behind HTTP work. It is the api's engine_directory from the start (every
// project answered 503 until the node has joined); start() seeds an empty database and joins
// the cluster once the address peers reach this server at is known (after it listens).
//
//   app::cluster_mode cluster(o);
//   http::api service(cluster, callers, o.api);
//   ... listen ...
//   std::string line = cluster.start("127.0.0.1:18081", tasks, fleet_given);
//   ... serve ...
//   cluster.stop();   // engines stopped, partitions released at once

#include "command_line.hpp"
#include "node.hpp"
#include <taskorch/task_spec.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace taskorch::app {

class cluster_mode final : public http::engine_directory {
 public:
  explicit cluster_mode(const command_line& o);
  /// stop(), when start() was called.
  ~cluster_mode() override;
  cluster_mode(const cluster_mode&) = delete;
  cluster_mode& operator=(const cluster_mode&) = delete;

  http::project_home find(const project_id& project) const override;
  std::vector<std::shared_ptr<engine>> engines() const override;

  /// Seeds the partitions of `tasks` that hold nothing yet (each one a partition at a time,
  /// under its lease), then joins the cluster as `advertise`. Returns the "registry:" line.
  /// Throws std::runtime_error (its message names what failed): a database that cannot be
  /// used, or with `fleet_given` a partition of the fleet that holds tasks already.
  std::string start(const std::string& advertise, std::vector<registration> tasks,
                    bool fleet_given);
  /// Stops serving: the node's engines stop, its partitions are released. Idempotent.
  void stop();

 private:
  const command_line& options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<cluster::node> node_;  // constructed by start(), which knows the address
  std::atomic<const cluster::node*> joined_{nullptr};  // node_ once it serves
  std::thread thread_;
  bool started_ = false;
};

}  // namespace taskorch::app
