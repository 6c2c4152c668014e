#include "task_model.hpp"

#include <taskorch/error.hpp>

#include <boost/asio/error.hpp>
#include <fmt/format.h>

namespace taskorch::test {

namespace {

using S = task_state;

bool running(S s) {
  return s == S::full_transfer || s == S::full_transfer_complete || s == S::incremental_transfer;
}
bool transfer_failed(S s) {
  return s == S::full_transfer_failed || s == S::incremental_transfer_failed;
}
bool failed(S s) { return s == S::start_failed || transfer_failed(s); }

/// Where resuming (retrying) a task in `s` leads, for a transfer-failed or running `s`.
S retried(S s) {
  switch (s) {
    case S::full_transfer_failed:
      return S::full_transfer;
    case S::incremental_transfer_failed:
      return S::incremental_transfer;
    default:
      return s;
  }
}

/// Makes a change caused by `cause`: the version grows; the task awaits the worker's
/// confirmation of `cause` when it is a command that awaits one, else nothing.
void changed_by(task_fields& t, task_event cause) {
  ++t.version;
  t.awaiting.reset();
  if (task_model::awaits_a_worker(cause)) t.awaiting = cause;
}

/// Moves `t` to `to` because of `cause`, as one change.
void change(task_fields& t, S to, task_event cause) {
  t.state = to;
  if (to != S::paused) {
    t.mode = pause_mode::target;
    t.paused_from = S::paused;
  }
  if (to != S::waiting_for_start) t.start_time = wall_time{};
  changed_by(t, cause);
}

}  // namespace

outcome classify(const error_code& ec) noexcept {
  if (!ec) return outcome::ok;
  if (ec == errc::task_not_found) return outcome::not_found;
  if (ec == errc::task_deleted) return outcome::deleted;
  if (ec == errc::invalid_state) return outcome::invalid_state;
  if (ec == errc::parent_task_forbidden) return outcome::parent_forbidden;
  if (ec == errc::child_task_forbidden) return outcome::child_forbidden;
  if (ec == errc::task_exists) return outcome::exists;
  if (ec == boost::asio::error::operation_aborted) return outcome::aborted;
  return outcome::other;
}

const char* to_string(outcome o) noexcept {
  switch (o) {
    case outcome::ok:
      return "ok";
    case outcome::not_found:
      return "not_found(M05003)";
    case outcome::deleted:
      return "deleted(M05004)";
    case outcome::invalid_state:
      return "invalid_state(M00304)";
    case outcome::parent_forbidden:
      return "parent_forbidden(M00307)";
    case outcome::child_forbidden:
      return "child_forbidden(M00308)";
    case outcome::aborted:
      return "aborted";
    case outcome::unknown:
      return "unknown";
    case outcome::exists:
      return "exists";
    case outcome::other:
      return "other";
  }
  return "?";
}

bool task_model::awaits_a_worker(task_event e) {
  return e == task_event::start || e == task_event::start_due || e == task_event::pause ||
         e == task_event::resume || e == task_event::stop || e == task_event::force_stop;
}

task_fields fields_of(task_state state, const std::optional<pause_info>& pause,
                      std::uint64_t version, const std::optional<wall_time>& start_time,
                      const std::optional<task_event>& awaiting) {
  task_fields t;
  t.state = state;
  t.version = version;
  t.awaiting = awaiting;
  if (state == S::paused && pause) {
    t.mode = pause->mode;
    t.paused_from = pause->from;
  }
  if (state == S::waiting_for_start && start_time) t.start_time = *start_time;
  return t;
}

outcome task_model::pause(task_fields& t, pause_mode mode) {
  if (t.state == S::paused) {
    // Same mode, or target after all: success, nothing changes. All after target: raised.
    if (t.mode == pause_mode::target && mode == pause_mode::all) {
      t.mode = pause_mode::all;
      changed_by(t, task_event::pause);
    }
    return outcome::ok;
  }
  if (running(t.state) || transfer_failed(t.state)) {
    const S from = t.state;
    change(t, S::paused, task_event::pause);
    t.mode = mode;
    t.paused_from = from;
    return outcome::ok;
  }
  return outcome::invalid_state;
}

outcome task_model::resume(task_fields& t) {
  if (t.state == S::paused) {
    change(t, retried(t.paused_from), task_event::resume);
    return outcome::ok;
  }
  if (transfer_failed(t.state)) {
    change(t, retried(t.state), task_event::resume);
    return outcome::ok;
  }
  if (t.state == S::start_failed) {
    change(t, S::starting, task_event::resume);
    return outcome::ok;
  }
  if (running(t.state)) return outcome::ok;
  return outcome::invalid_state;
}

outcome task_model::report(task_fields& t, task_event event) {
  const S s = t.state;
  std::optional<S> to;
  switch (event) {
    case task_event::start_succeeded:
      if (s == S::starting) to = S::full_transfer;
      break;
    case task_event::start_failed:
      if (s == S::starting) to = S::start_failed;
      break;
    case task_event::full_transfer_done:
      if (s == S::full_transfer) to = S::full_transfer_complete;
      break;
    case task_event::incremental_started:
      if (s == S::full_transfer_complete) to = S::incremental_transfer;
      break;
    case task_event::transfer_failed:
      if (s == S::full_transfer) to = S::full_transfer_failed;
      if (s == S::incremental_transfer) to = S::incremental_transfer_failed;
      break;
    case task_event::stopped:
      if (s == S::stopping) to = S::stopped;
      break;
    case task_event::start:
    case task_event::pause:
    case task_event::resume:
    case task_event::stop:
    case task_event::remove:
    case task_event::schedule_start:
    case task_event::start_due:
    case task_event::force_stop:
    case task_event::confirm:  // its own operation (confirm())
      break;                   // the others are not worker events: refused as a whole
  }
  if (!to) return outcome::invalid_state;
  change(t, *to, event);
  return outcome::ok;
}

outcome task_model::start(task_fields& t, std::optional<wall_time> at, wall_time now) {
  if (t.state != S::configuration && t.state != S::waiting_for_start) {
    return outcome::invalid_state;
  }
  if (!at || *at <= now) {
    change(t, S::starting, task_event::start);
    return outcome::ok;
  }
  if (t.state == S::waiting_for_start && t.start_time == *at) return outcome::ok;  // no change
  change(t, S::waiting_for_start, task_event::schedule_start);
  t.start_time = *at;
  return outcome::ok;
}

outcome task_model::remove(task_fields& t, delete_type type) {
  const S s = t.state;
  const bool terminable = s == S::configuration || s == S::waiting_for_start ||
                          s == S::start_failed || running(s) || transfer_failed(s) ||
                          s == S::paused;
  std::optional<S> to;
  task_event cause = task_event::stop;
  switch (type) {
    case delete_type::terminate:
      if (terminable) to = S::stopping;
      break;
    case delete_type::force_terminate:
      if (terminable || s == S::starting || s == S::stopping) to = S::stopped;
      cause = task_event::force_stop;
      break;
    case delete_type::remove:
      if (s == S::configuration || s == S::waiting_for_start || s == S::stopped) to = S::deleted;
      cause = task_event::remove;
      break;
  }
  if (!to) return outcome::invalid_state;
  change(t, *to, cause);
  return outcome::ok;
}

outcome task_model::confirm(task_fields& t, std::optional<task_event> command) {
  if (!t.awaiting) return outcome::invalid_state;                         // nothing awaited
  if (command && *command != *t.awaiting) return outcome::invalid_state;  // another command
  changed_by(t, task_event::confirm);  // the wait ends; the state stays
  return outcome::ok;
}

outcome task_model::replay(task_fields& t, task_event cause, std::optional<pause_mode> mode,
                           task_state from, task_state to, std::uint64_t version) {
  switch (cause) {
    case task_event::pause:
      return mode ? pause(t, *mode) : outcome::other;
    case task_event::resume:
      return resume(t);
    case task_event::start:
      return start(t, std::nullopt, wall_now());
    case task_event::schedule_start:
      return start(t, wall_time::max() - std::chrono::milliseconds(version), wall_now());
    case task_event::stop:
      return remove(t, delete_type::terminate);
    case task_event::force_stop:
      return remove(t, delete_type::force_terminate);
    case task_event::remove:
      return remove(t, delete_type::remove);
    case task_event::confirm:
      return from == to ? confirm(t, std::nullopt) : outcome::other;
    default:
      return report(t, cause);
  }
}

task_state task_model::aggregate(task_state forward, task_state backward) {
  if (failed(forward)) return forward;
  if (failed(backward)) return backward;
  if (forward == S::paused && backward == S::paused) return S::paused;
  return forward;
}

std::pair<model_output, model_state> task_model::apply(const model_state& s,
                                                       const model_input& in) {
  model_output out;
  model_state next = s;
  if (in.kind == op_kind::register_tasks) {
    if (s.registered) {
      out.result = outcome::exists;
      return {out, next};
    }
    next.registered = true;
    next.family = in.target == member::parent;
    next.tasks = in.initial;
    if (!next.family) next.tasks[1] = task_fields{};
    return {out, next};
  }
  if (!s.registered || in.foreign) {
    out.result = outcome::not_found;
    return {out, next};
  }
  const bool parent = in.target == member::parent;
  task_fields* t = nullptr;
  if (!parent) t = &next.tasks[in.target == member::backward ? 1 : 0];

  switch (in.kind) {
    case op_kind::register_tasks:
      break;
    case op_kind::pause:
    case op_kind::resume:
    case op_kind::report:
    case op_kind::start:
    case op_kind::confirm:
      if (parent) {
        out.result = outcome::parent_forbidden;
      } else if (t->state == S::deleted) {
        out.result = outcome::deleted;
      } else if (in.kind == op_kind::confirm) {
        out.result = confirm(*t, in.confirms);
      } else if (in.kind == op_kind::pause) {
        out.result = pause(*t, in.mode);
      } else if (in.kind == op_kind::resume) {
        out.result = resume(*t);
      } else if (in.kind == op_kind::start) {
        out.result = start(*t, in.start_time, wall_now());
      } else {
        out.result = report(*t, in.event);
      }
      break;
    case op_kind::remove:
      if (parent) {
        // Both children at one instant, or neither: the forward child's refusal first.
        task_fields forward = next.tasks[0];
        task_fields backward = next.tasks[1];
        for (task_fields* child : {&forward, &backward}) {
          if (out.result != outcome::ok) break;
          out.result = child->state == S::deleted ? outcome::deleted : remove(*child, in.type);
        }
        if (out.result == outcome::ok) next.tasks = {forward, backward};
      } else if (s.family) {
        out.result = outcome::child_forbidden;
      } else if (t->state == S::deleted) {
        out.result = outcome::deleted;
      } else {
        out.result = remove(*t, in.type);
      }
      break;
    case op_kind::status:
    case op_kind::get:
      if (parent) {
        out.state = aggregate(s.tasks[0].state, s.tasks[1].state);
        out.role = task_role::parent;
        out.version = 0;
      } else {
        out.state = t->state;
        out.version = t->version;
        out.awaiting = t->awaiting;
        if (t->state == S::paused) out.pause = pause_info{t->mode, t->paused_from};
        if (t->state == S::waiting_for_start) out.start_time = t->start_time;
        out.role = !s.family                      ? task_role::standalone
                   : in.target == member::forward ? task_role::forward_child
                                                  : task_role::backward_child;
      }
      break;
  }
  return {out, next};
}

bool task_model::matches(op_kind kind, const model_output& expected, const model_output& observed) {
  if (expected.result != observed.result) return false;
  if (expected.result != outcome::ok) return true;
  switch (kind) {
    case op_kind::status:
      return expected.state == observed.state;
    case op_kind::get:
      return expected.state == observed.state && expected.pause == observed.pause &&
             expected.start_time == observed.start_time && expected.version == observed.version &&
             expected.role == observed.role && expected.awaiting == observed.awaiting;
    default:
      return true;
  }
}

std::optional<model_state> task_model::step(const model_state& s, const model_input& in,
                                            const model_output& out) const {
  if (out.result == outcome::aborted) return s;  // did not run: no effect, any time
  if (out.result == outcome::unknown) return apply(s, in).second;  // ran, answer unseen
  auto [expected, next] = apply(s, in);
  if (!matches(in.kind, expected, out)) return std::nullopt;
  return next;
}

bool task_model::always_accepted(const model_input& in, const model_output& out, bool registered) {
  if (in.foreign) return out.result == outcome::not_found;
  const bool child_command = in.kind == op_kind::pause || in.kind == op_kind::resume ||
                             in.kind == op_kind::report || in.kind == op_kind::start ||
                             in.kind == op_kind::confirm;
  if (registered && child_command && in.target == member::parent) {
    return out.result == outcome::parent_forbidden;
  }
  const bool child = in.target == member::forward || in.target == member::backward;
  return registered && in.kind == op_kind::remove && child &&
         out.result == outcome::child_forbidden;
}

std::size_t task_model::hash(const model_state& s) const noexcept {
  std::uint64_t h = (s.registered ? 1U : 0U) | (s.family ? 2U : 0U);
  for (const task_fields& t : s.tasks) {
    h = h * 0x100000001b3ULL ^ static_cast<std::uint64_t>(t.state);
    h = h * 0x100000001b3ULL ^ static_cast<std::uint64_t>(t.mode);
    h = h * 0x100000001b3ULL ^ static_cast<std::uint64_t>(t.paused_from);
    h = h * 0x100000001b3ULL ^ static_cast<std::uint64_t>(t.start_time.time_since_epoch().count());
    h = h * 0x100000001b3ULL ^ t.version;
    h = h * 0x100000001b3ULL ^ (t.awaiting ? static_cast<std::uint64_t>(*t.awaiting) + 1 : 0);
  }
  return static_cast<std::size_t>(h ^ (h >> 32));
}

namespace {

const char* member_name(member m) {
  switch (m) {
    case member::task:
      return "task";
    case member::parent:
      return "parent";
    case member::forward:
      return "forward";
    case member::backward:
      return "backward";
  }
  return "?";
}

std::string describe_awaiting(const std::optional<task_event>& awaiting) {
  return awaiting ? fmt::format(" awaits {}", *awaiting) : std::string();
}

std::string describe_fields(const task_fields& t) {
  if (t.state == S::paused) {
    return fmt::format("{}({} from {})/v{}{}", t.state, t.mode, t.paused_from, t.version,
                       describe_awaiting(t.awaiting));
  }
  if (t.state == S::waiting_for_start) {
    return fmt::format("{}(at {})/v{}{}", t.state, t.start_time.time_since_epoch().count(),
                       t.version, describe_awaiting(t.awaiting));
  }
  return fmt::format("{}/v{}{}", t.state, t.version, describe_awaiting(t.awaiting));
}

std::string describe_time(const std::optional<wall_time>& at) {
  return at ? fmt::format("at {}", at->time_since_epoch().count()) : std::string("now");
}

}  // namespace

std::string task_model::describe(const model_input& in) {
  const char* who = member_name(in.target);
  const char* foreign = in.foreign ? " [other project]" : "";
  switch (in.kind) {
    case op_kind::register_tasks:
      if (in.target == member::parent) {
        return fmt::format("register family fwd={} bwd={}", describe_fields(in.initial[0]),
                           describe_fields(in.initial[1]));
      }
      return fmt::format("register {}", describe_fields(in.initial[0]));
    case op_kind::pause:
      return fmt::format("pause({}) {}{}", in.mode, who, foreign);
    case op_kind::resume:
      return fmt::format("resume {}{}", who, foreign);
    case op_kind::report:
      return fmt::format("report({}) {}{}", in.event, who, foreign);
    case op_kind::status:
      return fmt::format("status {}{}", who, foreign);
    case op_kind::get:
      return fmt::format("get {}{}", who, foreign);
    case op_kind::start:
      return fmt::format("start({}) {}{}", describe_time(in.start_time), who, foreign);
    case op_kind::remove:
      return fmt::format("delete({}) {}{}", to_string(in.type), who, foreign);
    case op_kind::confirm:
      return fmt::format("confirm({}) {}{}",
                         in.confirms ? to_string(*in.confirms) : std::string_view("awaited"), who,
                         foreign);
  }
  return "?";
}

std::string task_model::describe(const model_output& out) {
  if (out.result != outcome::ok) return to_string(out.result);
  std::string text = fmt::format("ok {} v{} {}", out.state, out.version, to_string(out.role));
  if (out.pause) text += fmt::format(" pause({} from {})", out.pause->mode, out.pause->from);
  if (out.start_time) text += " " + describe_time(out.start_time);
  text += describe_awaiting(out.awaiting);
  return text;
}

std::string task_model::describe(const model_state& s) {
  if (!s.registered) return "absent";
  if (!s.family) return describe_fields(s.tasks[0]);
  return fmt::format("family fwd={} bwd={}", describe_fields(s.tasks[0]),
                     describe_fields(s.tasks[1]));
}

}  // namespace taskorch::test
