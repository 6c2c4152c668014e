#include "engine_core.hpp"
#include "operations/command.hpp"
#include "operations/count.hpp"
#include "operations/gather.hpp"
#include "operations/get.hpp"
#include "operations/purge.hpp"
#include "operations/register.hpp"
#include "operations/status.hpp"
#include <taskorch/engine.hpp>

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace taskorch {

namespace detail {

bool on_engine_thread(const engine_core& core) noexcept { return core.on_engine_thread(); }

}  // namespace detail

// -- subscription -------------------------------------------------------------------------

subscription::subscription(std::weak_ptr<detail::engine_core> core,
                           std::shared_ptr<detail::subscriber_slot> slot) noexcept
    : core_(std::move(core)), slot_(std::move(slot)) {}

subscription::subscription(subscription&& other) noexcept
    : core_(std::move(other.core_)), slot_(std::move(other.slot_)) {}

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    reset();
    core_ = std::move(other.core_);
    slot_ = std::move(other.slot_);
  }
  return *this;
}

subscription::~subscription() { reset(); }

void subscription::reset() noexcept {
  if (slot_ == nullptr) return;
  // A core that is gone has joined its threads: no call can be running then.
  const std::shared_ptr<detail::engine_core> core = core_.lock();
  slot_->close(/*wait_for_running=*/core != nullptr && !core->on_engine_thread());
  if (core != nullptr) core->unsubscribe(slot_);
  slot_.reset();
  core_.reset();
}

// -- engine -------------------------------------------------------------------------------

engine::engine(engine_options options)
    : core_(std::make_shared<detail::engine_core>(std::move(options))) {}

engine::~engine() {
  if (core_->on_engine_thread()) {
    // stop() would wait for this very thread: fail loudly rather than hang.
    std::fputs(
        "taskorch: an engine was destroyed on one of its own threads (in a handler or a "
        "callback); it cannot wait for itself\n",
        stderr);
    std::abort();
  }
  core_->stop();
}

void engine::stop() { core_->stop(); }

bool engine::stopped() const noexcept { return core_->stopped(); }

const engine_options& engine::options() const noexcept { return core_->options(); }

storage_stats engine::storage() const { return core_->storage(); }

error_code engine::checkpoint() { return core_->checkpoint(); }

feed_page engine::read_feed(const project_id& project, std::uint64_t after,
                            std::size_t max_events) const {
  return core_->feed().read(project, after, max_events);
}

std::uint64_t engine::feed_position() const { return core_->feed().readable(); }

void engine::start_register(std::vector<registration> items, handler<batch_signature> h) {
  core_->start<detail::register_op>(std::move(h), std::move(items));
}

void engine::start_pause(project_id project, std::vector<pause_item> items,
                         handler<batch_signature> h) {
  core_->start<detail::command_op<pause_item>>(std::move(h), project,
                                               detail::batch_command{task_event::pause, wall_now()},
                                               std::move(items));
}

void engine::start_resume(project_id project, std::vector<job_id> ids, handler<batch_signature> h) {
  core_->start<detail::command_op<job_id>>(
      std::move(h), project, detail::batch_command{task_event::resume, wall_now()}, std::move(ids));
}

void engine::start_start(project_id project, std::vector<start_item> items,
                         handler<batch_signature> h) {
  // Each item says whether it starts now or later (command_of()).
  core_->start<detail::command_op<start_item>>(std::move(h), project,
                                               detail::batch_command{task_event::start, wall_now()},
                                               std::move(items));
}

void engine::start_delete(project_id project, std::vector<delete_item> items,
                          handler<batch_signature> h) {
  // Each item's delete type names its event (command_of()).
  core_->start<detail::command_op<delete_item>>(
      std::move(h), project, detail::batch_command{task_event::stop, wall_now()}, std::move(items));
}

void engine::start_report(project_id project, std::vector<event_item> items,
                          handler<batch_signature> h) {
  // Each item names its own event (command_of()).
  core_->start<detail::command_op<event_item>>(
      std::move(h), project, detail::batch_command{task_event::start_succeeded, wall_now()},
      std::move(items));
}

void engine::start_worker_report(project_id project, std::vector<report_item> items,
                                 handler<batch_signature> h) {
  core_->start<detail::command_op<report_item>>(
      std::move(h), project, detail::batch_command{task_event::start_succeeded, wall_now()},
      std::move(items));
}

void engine::start_progress(project_id project, std::vector<job_id> ids,
                            handler<progress_signature> h) {
  core_->start<detail::progress_op>(std::move(h), project, std::move(ids));
}

void engine::start_purge(project_id project, std::vector<job_id> ids, handler<batch_signature> h) {
  core_->start<detail::purge_op>(std::move(h), project, std::move(ids));
}

void engine::start_status(project_id project, std::vector<job_id> ids,
                          handler<status_signature> h) {
  core_->start<detail::status_op>(std::move(h), project, std::move(ids));
}

void engine::start_detail(project_id project, std::vector<job_id> ids,
                          handler<detail_signature> h) {
  core_->start<detail::detail_op>(std::move(h), project, std::move(ids));
}

void engine::start_get(project_id project, job_id id, handler<snapshot_signature> h) {
  core_->start<detail::get_op>(std::move(h), project, id);
}

void engine::start_list(project_id project, handler<list_signature> h) {
  core_->start<detail::list_op>(std::move(h), project);
}

void engine::start_count(handler<counts_signature> h) {
  core_->start<detail::count_op>(std::move(h));
}

void engine::start_export(handler<export_signature> h) {
  core_->start<detail::export_op>(std::move(h));
}

void engine::start_subscribe(change_callback callback, handler<subscribe_signature> h) {
  core_->start_subscribe(std::move(callback), std::move(h));
}

}  // namespace taskorch
