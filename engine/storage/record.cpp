#include "record.hpp"

#include <taskorch/transition_table.hpp>

#include <array>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace taskorch::storage {

namespace {

constexpr std::size_t id_size = job_id::text_size;
constexpr std::size_t project_size = project_id::text_size;
/// u8 state, u8 pause mode, u8 paused from, u64 version; a waiting task's start time follows;
/// then (format 3) the task's times: u64 changed at, u8 awaited command (none_byte: none).
constexpr std::size_t state_size = 3 + 8;
constexpr std::size_t start_time_size = 8;
constexpr std::size_t times_size = 8 + 1;
/// A change's note (format 3): u64 feed position, u8 state before, u8 cause.
constexpr std::size_t note_size = 8 + 1 + 1;
/// The u64 creation time of a put record (format 3).
constexpr std::size_t created_size = 8;
constexpr std::size_t put_task_fixed = 1 + id_size + project_size + 4 + 8 + 2;
static_assert(put_task_fixed == smallest_put_size);
constexpr std::size_t erase_size = 1 + id_size;
constexpr std::size_t end_size = 1 + 8;
/// position, project, id, from, to, cause, mode, awaiting, at, version.
constexpr std::size_t feed_event_size = 1 + 8 + project_size + id_size + 5 + 8 + 8;
/// An absent optional enum.
constexpr std::uint8_t none_byte = 0xFF;
/// The first format with a task's times, notes and feed events.
constexpr std::uint32_t times_version = 3;

void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

void put_u16(std::string& out, std::uint16_t v) {
  const std::array<char, 2> bytes{static_cast<char>(v & 0xFFU), static_cast<char>(v >> 8)};
  out.append(bytes.data(), bytes.size());
}

void put_u64(std::string& out, std::uint64_t v) {
  std::array<char, 8> bytes{};
  for (char& b : bytes) {
    b = static_cast<char>(v & 0xFFU);
    v >>= 8;
  }
  out.append(bytes.data(), bytes.size());
}

void put_id(std::string& out, const job_id& id) {
  std::array<char, id_size> text{};
  id.write(text.data());
  out.append(text.data(), text.size());
}

void put_project(std::string& out, const project_id& project) {
  std::array<char, project_size> text{};
  project.write(text.data());
  out.append(text.data(), text.size());
}

void put_name(std::string& out, const std::string& name) {
  if (name.size() > std::numeric_limits<std::uint16_t>::max()) {
    throw std::length_error("a task name longer than 65535 bytes cannot be stored");
  }
  put_u16(out, static_cast<std::uint16_t>(name.size()));
  out.append(name);
}

/// The state bytes and version: mode and paused-from are 0 unless the state is paused; the
/// start time follows for a task waiting for its start, and only then.
void put_time(std::string& out, wall_time t) {
  put_u64(out, static_cast<std::uint64_t>(t.time_since_epoch().count()));
}

template <class Enum>
void put_optional(std::string& out, const std::optional<Enum>& e) {
  put_u8(out, e ? static_cast<std::uint8_t>(*e) : none_byte);
}

template <class Spec>
void put_state(std::string& out, const Spec& spec) {
  const bool paused = spec.state == task_state::paused;
  const pause_info info = spec.pause.value_or(pause_info{});
  put_u8(out, static_cast<std::uint8_t>(spec.state));
  put_u8(out, paused ? static_cast<std::uint8_t>(info.mode) : 0);
  put_u8(out, paused ? static_cast<std::uint8_t>(info.from) : 0);
  put_u64(out, spec.version);
  if (spec.state == task_state::waiting_for_start) {
    put_time(out, spec.start_time.value_or(wall_time{}));
  }
  put_time(out, spec.changed_at);
  put_optional(out, spec.awaiting);
}

void put_child(std::string& out, const child_spec& child) {
  put_id(out, child.id);
  put_state(out, child);
}

void put_note(std::string& out, const change_note& note) {
  put_u64(out, note.position);
  put_u8(out, static_cast<std::uint8_t>(note.from));
  put_u8(out, static_cast<std::uint8_t>(note.cause));
}

/// Reads a payload front to back; every read is bounds-checked by the caller's size check.
class reader {
 public:
  reader(std::span<const std::byte> bytes, std::uint32_t version)
      : bytes_(bytes), version_(version) {}

  /// True for a file of format 3 or later: times, notes and feed events.
  bool has_times() const noexcept { return version_ >= times_version; }

  std::size_t remaining() const noexcept { return bytes_.size() - at_; }

  std::uint8_t u8() noexcept { return std::to_integer<std::uint8_t>(bytes_[at_++]); }

  std::uint16_t u16() noexcept {
    const auto low = u8();
    return static_cast<std::uint16_t>(low | (u8() << 8));
  }

  std::uint64_t u64() noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return v;
  }

  std::string_view text(std::size_t n) noexcept {
    const std::string_view t(reinterpret_cast<const char*>(bytes_.data() + at_), n);
    at_ += n;
    return t;
  }

  std::optional<job_id> id() noexcept { return job_id::parse(text(id_size)); }
  std::optional<project_id> project() noexcept { return project_id::parse(text(project_size)); }

  /// A time in milliseconds since the epoch; false when it does not fit one.
  bool time(wall_time& t) noexcept {
    const std::uint64_t ms = u64();
    if (ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    t = wall_time(std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
    return true;
  }

  /// An optional enum value; false when it is neither absent nor declared.
  template <class Enum>
  bool optional_enum(std::optional<Enum>& e) noexcept {
    const std::uint8_t b = u8();
    e.reset();
    if (b == none_byte) return true;
    e = static_cast<Enum>(b);
    return is_valid(*e);
  }

  /// A change's note (format 3; nothing to read before it).
  bool note(change_note& n) noexcept {
    if (!has_times()) return true;
    if (remaining() < note_size) return false;
    n.position = u64();
    n.from = static_cast<task_state>(u8());
    n.cause = static_cast<task_event>(u8());
    return is_valid(n.from) && is_valid(n.cause);
  }

  /// The state bytes, version and start time; false when they are not a consistent state or
  /// the start time is cut off.
  template <class Spec>
  bool state(Spec& spec) {
    if (remaining() < state_size) return false;
    spec.state = static_cast<task_state>(u8());
    const auto mode = static_cast<pause_mode>(u8());
    const auto from = static_cast<task_state>(u8());
    spec.version = u64();
    if (!is_valid(spec.state)) return false;
    spec.start_time.reset();
    if (spec.state == task_state::waiting_for_start) {
      if (remaining() < start_time_size) return false;
      const std::uint64_t ms = u64();
      if (ms == 0 || ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return false;
      }
      spec.start_time = wall_time(std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
    }
    if (has_times()) {
      if (remaining() < times_size || !time(spec.changed_at) || !optional_enum(spec.awaiting)) {
        return false;
      }
      if (spec.awaiting && !awaits_worker(*spec.awaiting)) return false;
    }
    if (spec.state != task_state::paused) {
      spec.pause.reset();
      return static_cast<std::uint8_t>(mode) == 0 && static_cast<std::uint8_t>(from) == 0;
    }
    if (!is_valid(mode) || !is_valid(from) || !is_pausable(from)) return false;
    spec.pause = pause_info{mode, from};
    return true;
  }

  bool child(child_spec& child) {
    if (remaining() < id_size) return false;
    const auto id = this->id();
    if (!id) return false;
    child.id = *id;
    return state(child);
  }

  /// A put record's creation time (format 3; nothing to read before it).
  bool created(wall_time& t) noexcept {
    if (!has_times()) return true;
    return remaining() >= created_size && time(t);
  }

 private:
  std::span<const std::byte> bytes_;
  std::uint32_t version_;
  std::size_t at_ = 0;
};

std::optional<record> decode_put_task(reader& in) {
  if (in.remaining() < put_task_fixed - 1) return std::nullopt;
  task_spec task;
  const auto id = in.id();
  const auto project = in.project();
  if (!id || !project) return std::nullopt;
  task.id = *id;
  task.project = *project;
  task.kind = static_cast<task_kind>(in.u8());
  if (!is_valid(task.kind) || !in.state(task) || !in.created(task.created_at) ||
      in.remaining() < 2) {
    return std::nullopt;
  }
  const std::size_t name_size = in.u16();
  if (in.remaining() != name_size) return std::nullopt;
  task.name = in.text(name_size);
  return record{std::move(task)};
}

std::optional<record> decode_put_family(reader& in) {
  if (in.remaining() < id_size + project_size) return std::nullopt;
  family_spec family;
  const auto id = in.id();
  const auto project = in.project();
  if (!id || !project) return std::nullopt;
  family.id = *id;
  family.project = *project;
  if (!in.created(family.created_at) || in.remaining() < 2) return std::nullopt;
  const std::size_t name_size = in.u16();
  if (in.remaining() < name_size) return std::nullopt;
  family.name = in.text(name_size);
  if (!in.child(family.forward) || !in.child(family.backward) || in.remaining() != 0) {
    return std::nullopt;
  }
  return record{std::move(family)};
}

bool read_change(reader& in, set_state_record& r) { return in.child(r) && in.note(r.note); }

std::optional<record> decode_set_state(reader& in) {
  set_state_record r;
  if (!read_change(in, r) || in.remaining() != 0) return std::nullopt;
  return record{r};
}

std::optional<record> decode_feed_event(reader& in, std::size_t payload_size) {
  if (!in.has_times() || payload_size != feed_event_size) return std::nullopt;
  feed_event e;
  e.position = in.u64();
  const auto project = in.project();
  const auto id = in.id();
  if (!project || !id) return std::nullopt;
  e.project = *project;
  e.id = *id;
  e.from = static_cast<task_state>(in.u8());
  e.to = static_cast<task_state>(in.u8());
  e.cause = static_cast<task_event>(in.u8());
  if (!is_valid(e.from) || !is_valid(e.to) || !is_valid(e.cause) || e.position == 0 ||
      !in.optional_enum(e.mode) || !in.optional_enum(e.awaiting) || !in.time(e.at)) {
    return std::nullopt;
  }
  if (e.mode.has_value() != (e.to == task_state::paused)) return std::nullopt;
  if (e.awaiting && !awaits_worker(*e.awaiting)) return std::nullopt;
  e.version = in.u64();
  return record{e};
}

void encode_feed_event(const feed_event& e, std::string& out) {
  put_u8(out, static_cast<std::uint8_t>(record_kind::feed_event));
  put_u64(out, e.position);
  put_project(out, e.project);
  put_id(out, e.id);
  put_u8(out, static_cast<std::uint8_t>(e.from));
  put_u8(out, static_cast<std::uint8_t>(e.to));
  put_u8(out, static_cast<std::uint8_t>(e.cause));
  put_optional(out, e.mode);
  put_optional(out, e.awaiting);
  put_time(out, e.at);
  put_u64(out, e.version);
}

}  // namespace

void encode(const task_spec& task, std::string& out) {
  out.reserve(out.size() + put_task_fixed + created_size + times_size + task.name.size());
  put_u8(out, static_cast<std::uint8_t>(record_kind::put_task));
  put_id(out, task.id);
  put_project(out, task.project);
  put_u8(out, static_cast<std::uint8_t>(task.kind));
  put_state(out, task);
  put_time(out, task.created_at);
  put_name(out, task.name);
}

void encode(const family_spec& family, std::string& out) {
  put_u8(out, static_cast<std::uint8_t>(record_kind::put_family));
  put_id(out, family.id);
  put_project(out, family.project);
  put_time(out, family.created_at);
  put_name(out, family.name);
  put_child(out, family.forward);
  put_child(out, family.backward);
}

void encode(const record& r, std::string& out) {
  std::visit(
      [&out](const auto& rec) {
        using type = std::decay_t<decltype(rec)>;
        if constexpr (std::is_same_v<type, task_spec> || std::is_same_v<type, family_spec>) {
          encode(rec, out);
        } else if constexpr (std::is_same_v<type, set_state_record>) {
          encode_set_state(out, rec);
        } else if constexpr (std::is_same_v<type, set_family_state_record>) {
          encode_set_family_state(out, rec);
        } else if constexpr (std::is_same_v<type, feed_event>) {
          encode_feed_event(rec, out);
        } else if constexpr (std::is_same_v<type, erase_task_record>) {
          put_u8(out, static_cast<std::uint8_t>(record_kind::erase_task));
          put_id(out, rec.id);
        } else if constexpr (std::is_same_v<type, erase_family_record>) {
          put_u8(out, static_cast<std::uint8_t>(record_kind::erase_family));
          put_id(out, rec.parent);
        } else {
          static_assert(std::is_same_v<type, end_record>);
          put_u8(out, static_cast<std::uint8_t>(record_kind::end));
          put_u64(out, rec.count);
        }
      },
      r);
}

void encode_set_state(std::string& out, const set_state_record& r) {
  put_u8(out, static_cast<std::uint8_t>(record_kind::set_state));
  put_child(out, r);
  put_note(out, r.note);
}

void encode_set_family_state(std::string& out, const set_family_state_record& r) {
  put_u8(out, static_cast<std::uint8_t>(record_kind::set_family_state));
  for (const set_state_record* child : {&r.forward, &r.backward}) {
    put_child(out, *child);
    put_note(out, child->note);
  }
}

std::optional<record> decode(std::span<const std::byte> payload, std::uint32_t version) {
  if (payload.empty()) return std::nullopt;
  reader in(payload, version);
  switch (static_cast<record_kind>(in.u8())) {
    case record_kind::put_task:
      return decode_put_task(in);
    case record_kind::put_family:
      return decode_put_family(in);
    case record_kind::set_state:
      return decode_set_state(in);
    case record_kind::set_family_state: {
      set_family_state_record r;
      if (!read_change(in, r.forward) || !read_change(in, r.backward) || in.remaining() != 0) {
        return std::nullopt;
      }
      return record{r};
    }
    case record_kind::feed_event:
      return decode_feed_event(in, payload.size());
    case record_kind::erase_task: {
      if (payload.size() != erase_size) return std::nullopt;
      const auto id = in.id();
      if (!id) return std::nullopt;
      return record{erase_task_record{*id}};
    }
    case record_kind::erase_family: {
      if (payload.size() != erase_size) return std::nullopt;
      const auto parent = in.id();
      if (!parent) return std::nullopt;
      return record{erase_family_record{*parent}};
    }
    case record_kind::end:
      if (payload.size() != end_size) return std::nullopt;
      return record{end_record{in.u64()}};
  }
  return std::nullopt;
}

}  // namespace taskorch::storage
