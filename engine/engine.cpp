#include "engine_core.hpp"
#include "inline_executor.hpp"
#include <taskorch/engine.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/system/system_error.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace taskorch {

namespace {

/// Runs an asynchronous start function and waits for it. Refuses (errc::would_deadlock)
/// on an engine thread, which the wait would block. The handler runs where the operation
/// finished (inline_executor): on this thread when every part ran inline, so nobody is woken.
template <class Result, class Start>
Result wait_for(const detail::engine_core& core, error_code& ec, Start start) {
  if (core.on_engine_thread()) {
    ec = errc::would_deadlock;
    return Result();
  }
  Result result;
  // When every part ran inline, the handler runs right here, inside start(): then nothing
  // needs waking, nor any lock. Otherwise it runs on an engine thread and wakes this one.
  const std::thread::id waiter = std::this_thread::get_id();
  bool start_returned = false;
  bool done_here = false;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  start(asio::bind_executor(detail::inline_executor(), [&](error_code e, Result r) {
    if (std::this_thread::get_id() == waiter && !start_returned) {
      ec = e;
      result = std::move(r);
      done_here = true;
      return;
    }
    std::lock_guard lock(mutex);  // held while notifying: the waiter cannot return before
    ec = e;
    result = std::move(r);
    done = true;
    cv.notify_one();
  }));
  start_returned = true;
  if (done_here) return result;
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return done; });
  return result;
}

/// Runs the error_code& overload `call`, throwing boost::system::system_error on error.
template <class Call>
auto or_throw(Call call) {
  error_code ec;
  auto result = call(ec);
  if (ec) throw boost::system::system_error(ec);
  return result;
}

}  // namespace

// -- subscription -------------------------------------------------------------------------

subscription::subscription(std::weak_ptr<detail::engine_core> core, std::uint64_t id) noexcept
    : core_(std::move(core)), id_(id) {}

subscription::subscription(subscription&& other) noexcept
    : core_(std::move(other.core_)), id_(std::exchange(other.id_, 0)) {}

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    reset();
    core_ = std::move(other.core_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

subscription::~subscription() { reset(); }

void subscription::reset() noexcept {
  if (id_ == 0) return;
  if (auto core = core_.lock()) core->unsubscribe(id_);
  id_ = 0;
  core_.reset();
}

// -- engine -------------------------------------------------------------------------------

engine::engine(engine_options options) : core_(std::make_shared<detail::engine_core>(options)) {}

engine::~engine() { core_->stop(); }

void engine::stop() { core_->stop(); }

const engine_options& engine::options() const noexcept { return core_->options(); }

void engine::start_register(std::vector<registration> items, handler<batch_signature> h) {
  core_->start_register(std::move(items), std::move(h));
}

void engine::start_pause(project_id project, std::vector<pause_item> items,
                         handler<batch_signature> h) {
  core_->start_command(project, task_event::pause, std::move(items), std::move(h));
}

void engine::start_resume(project_id project, std::vector<job_id> ids, handler<batch_signature> h) {
  core_->start_command(project, task_event::resume, std::move(ids), std::move(h));
}

void engine::start_report(project_id project, std::vector<event_item> items,
                          handler<batch_signature> h) {
  core_->start_command(project, task_event::start, std::move(items), std::move(h));
}

void engine::start_purge(project_id project, std::vector<job_id> ids, handler<batch_signature> h) {
  core_->start_purge(project, std::move(ids), std::move(h));
}

void engine::start_status(project_id project, std::vector<job_id> ids,
                          handler<status_signature> h) {
  core_->start_status(project, std::move(ids), std::move(h));
}

void engine::start_get(project_id project, job_id id, handler<snapshot_signature> h) {
  core_->start_get(project, id, std::move(h));
}

void engine::start_list(project_id project, handler<list_signature> h) {
  core_->start_list(project, std::move(h));
}

void engine::start_count(handler<counts_signature> h) { core_->start_count(std::move(h)); }

void engine::start_export(handler<export_signature> h) { core_->start_export(std::move(h)); }

void engine::start_subscribe(change_callback callback, handler<subscribe_signature> h) {
  core_->start_subscribe(std::move(callback), std::move(h));
}

// -- blocking wrappers --------------------------------------------------------------------

batch_result engine::register_tasks(std::vector<registration> items, error_code& ec) {
  return wait_for<batch_result>(*core_, ec,
                                [&](auto h) { start_register(std::move(items), std::move(h)); });
}
batch_result engine::register_tasks(std::vector<registration> items) {
  return or_throw([&](error_code& ec) { return register_tasks(std::move(items), ec); });
}

batch_result engine::pause(project_id project, std::vector<pause_item> items, error_code& ec) {
  return wait_for<batch_result>(
      *core_, ec, [&](auto h) { start_pause(project, std::move(items), std::move(h)); });
}
batch_result engine::pause(project_id project, std::vector<pause_item> items) {
  return or_throw([&](error_code& ec) { return pause(project, std::move(items), ec); });
}

batch_result engine::resume(project_id project, std::vector<job_id> ids, error_code& ec) {
  return wait_for<batch_result>(
      *core_, ec, [&](auto h) { start_resume(project, std::move(ids), std::move(h)); });
}
batch_result engine::resume(project_id project, std::vector<job_id> ids) {
  return or_throw([&](error_code& ec) { return resume(project, std::move(ids), ec); });
}

batch_result engine::report(project_id project, std::vector<event_item> items, error_code& ec) {
  return wait_for<batch_result>(
      *core_, ec, [&](auto h) { start_report(project, std::move(items), std::move(h)); });
}
batch_result engine::report(project_id project, std::vector<event_item> items) {
  return or_throw([&](error_code& ec) { return report(project, std::move(items), ec); });
}

batch_result engine::purge(project_id project, std::vector<job_id> ids, error_code& ec) {
  return wait_for<batch_result>(
      *core_, ec, [&](auto h) { start_purge(project, std::move(ids), std::move(h)); });
}
batch_result engine::purge(project_id project, std::vector<job_id> ids) {
  return or_throw([&](error_code& ec) { return purge(project, std::move(ids), ec); });
}

std::vector<status_result> engine::status(project_id project, std::vector<job_id> ids,
                                          error_code& ec) {
  return wait_for<std::vector<status_result>>(
      *core_, ec, [&](auto h) { start_status(project, std::move(ids), std::move(h)); });
}
std::vector<status_result> engine::status(project_id project, std::vector<job_id> ids) {
  return or_throw([&](error_code& ec) { return status(project, std::move(ids), ec); });
}

task_snapshot engine::get(project_id project, job_id id, error_code& ec) {
  return wait_for<task_snapshot>(*core_, ec, [&](auto h) { start_get(project, id, std::move(h)); });
}
task_snapshot engine::get(project_id project, job_id id) {
  return or_throw([&](error_code& ec) { return get(project, id, ec); });
}

std::vector<task_snapshot> engine::list(project_id project, error_code& ec) {
  return wait_for<std::vector<task_snapshot>>(*core_, ec,
                                              [&](auto h) { start_list(project, std::move(h)); });
}
std::vector<task_snapshot> engine::list(project_id project) {
  return or_throw([&](error_code& ec) { return list(project, ec); });
}

state_counts engine::count(error_code& ec) {
  return wait_for<state_counts>(*core_, ec, [&](auto h) { start_count(std::move(h)); });
}
state_counts engine::count() {
  return or_throw([&](error_code& ec) { return count(ec); });
}

std::vector<registration> engine::export_snapshot(error_code& ec) {
  return wait_for<std::vector<registration>>(*core_, ec,
                                             [&](auto h) { start_export(std::move(h)); });
}
std::vector<registration> engine::export_snapshot() {
  return or_throw([&](error_code& ec) { return export_snapshot(ec); });
}

subscription engine::subscribe(change_callback callback, error_code& ec) {
  return wait_for<subscription>(
      *core_, ec, [&](auto h) { start_subscribe(std::move(callback), std::move(h)); });
}
subscription engine::subscribe(change_callback callback) {
  return or_throw([&](error_code& ec) { return subscribe(std::move(callback), ec); });
}

}  // namespace taskorch
