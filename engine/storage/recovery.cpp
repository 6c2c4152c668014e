#include "recovery.hpp"

#include "checkpoint_file.hpp"
#include "data_directory.hpp"
#include "frame.hpp"
#include "record.hpp"

#include <boost/unordered/unordered_flat_map.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <system_error>
#include <utility>

namespace taskorch::storage {

namespace {

/// The registry being rebuilt. Every record must fit it exactly: a journal written by the
/// engine never registers an id twice or changes a task that does not exist. Registrations
/// stay where they were put (a checkpoint's list is taken over whole); the maps hold indices.
class registry_model {
 public:
  /// Takes over a checkpoint's registrations; returns what is wrong with them, or nothing.
  std::string adopt(std::vector<registration>&& tasks) {
    slots_ = std::move(tasks);
    roots_.reserve(slots_.size() + slots_.size() / 8);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (std::string problem = index(i); !problem.empty()) return problem;
    }
    return {};
  }

  /// Applies `r`; returns what is wrong with it, or nothing.
  std::string apply(record&& r) {
    if (auto* task = std::get_if<task_spec>(&r)) return put(std::move(*task));
    if (auto* family = std::get_if<family_spec>(&r)) return put(std::move(*family));
    if (const auto* change = std::get_if<set_state_record>(&r)) return set_state(*change);
    if (const auto* change = std::get_if<set_family_state_record>(&r)) {
      return set_family_state(*change);
    }
    if (const auto* erase = std::get_if<erase_task_record>(&r)) return erase_task(erase->id);
    if (const auto* erase = std::get_if<erase_family_record>(&r)) {
      return erase_family(erase->parent);
    }
    if (std::holds_alternative<feed_event>(r)) return "a feed event, which only checkpoints hold";
    return "an end record, which only checkpoints hold";
  }

  /// The feed's events the changes applied carried (format 3), in the order applied.
  std::vector<feed_event>& events() noexcept { return events_; }

  /// The registrations, sorted by id; leaves the model empty. Reorders the slots in place
  /// (a registry of millions would otherwise be copied once more, into fresh memory).
  std::vector<registration> take_sorted() {
    std::vector<std::pair<job_id, std::size_t>> order(roots_.begin(), roots_.end());
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    // source[k]: the slot that goes to position k. The erased slots fill the positions past
    // the registrations, so that source is a permutation, applied one cycle at a time.
    std::vector<std::size_t> source(slots_.size());
    std::vector<bool> placed(slots_.size(), false);
    for (std::size_t k = 0; k < order.size(); ++k) {
      source[k] = order[k].second;
      placed[order[k].second] = true;
    }
    for (std::size_t slot = 0, k = order.size(); slot < slots_.size(); ++slot) {
      if (!placed[slot]) source[k++] = slot;
    }
    std::fill(placed.begin(), placed.end(), false);
    for (std::size_t start = 0; start < slots_.size(); ++start) {
      if (placed[start] || source[start] == start) continue;
      registration first = std::move(slots_[start]);
      std::size_t k = start;
      for (; source[k] != start; k = source[k]) {
        slots_[k] = std::move(slots_[source[k]]);
        placed[k] = true;
      }
      slots_[k] = std::move(first);
      placed[k] = true;
    }
    slots_.resize(order.size());
    std::vector<registration> sorted = std::move(slots_);
    *this = {};
    return sorted;
  }

 private:
  bool holds(const job_id& id) const { return roots_.contains(id) || children_.contains(id); }

  /// Indexes the ids of the registration in slot `i`.
  std::string index(std::size_t i) {
    if (const auto* task = std::get_if<task_spec>(&slots_[i])) {
      if (holds(task->id)) return exists(task->id);
      roots_.emplace(task->id, i);
      return {};
    }
    const auto& family = std::get<family_spec>(slots_[i]);
    for (const job_id* id : {&family.id, &family.forward.id, &family.backward.id}) {
      if (holds(*id)) return exists(*id);
    }
    if (family.forward.id == family.id || family.backward.id == family.id ||
        family.forward.id == family.backward.id) {
      return fmt::format("registers family {} with an id twice", family.id);
    }
    roots_.emplace(family.id, i);
    children_.emplace(family.forward.id, i);
    children_.emplace(family.backward.id, i);
    return {};
  }

  static std::string exists(const job_id& id) {
    return fmt::format("registers {}, which exists", id);
  }

  template <typename Spec>
  std::string put(Spec&& spec) {
    slots_.emplace_back(std::forward<Spec>(spec));
    std::string problem = index(slots_.size() - 1);
    if (!problem.empty()) slots_.pop_back();
    return problem;
  }

  template <class Spec>
  void change(Spec& target, const set_state_record& change, const project_id& project) {
    if (change.note.position != 0) {
      std::optional<pause_mode> mode;
      if (change.pause) mode = change.pause->mode;
      events_.push_back({change.note.position, change.id, project, change.note.from, change.state,
                         change.note.cause, mode, change.awaiting, change.changed_at,
                         change.version});
    }
    target.state = change.state;
    target.pause = change.pause;
    target.start_time = change.start_time;
    target.version = change.version;
    target.changed_at = change.changed_at;
    target.awaiting = change.awaiting;
  }

  std::string set_state(const set_state_record& change) {
    if (const auto root = roots_.find(change.id); root != roots_.end()) {
      auto* task = std::get_if<task_spec>(&slots_[root->second]);
      if (task == nullptr) return fmt::format("sets a state of family parent {}", change.id);
      this->change(*task, change, task->project);
      return {};
    }
    const auto child = children_.find(change.id);
    if (child == children_.end()) {
      return fmt::format("sets the state of {}, which does not exist", change.id);
    }
    auto& family = std::get<family_spec>(slots_[child->second]);
    child_spec& target = family.forward.id == change.id ? family.forward : family.backward;
    this->change(target, change, family.project);
    return {};
  }

  std::string set_family_state(const set_family_state_record& change) {
    const auto forward = children_.find(change.forward.id);
    const auto backward = children_.find(change.backward.id);
    if (forward == children_.end() || backward == children_.end() ||
        forward->second != backward->second) {
      return fmt::format("sets the states of {} and {}, which are not one family's children",
                         change.forward.id, change.backward.id);
    }
    std::string problem = set_state(change.forward);
    return problem.empty() ? set_state(change.backward) : problem;
  }

  std::string erase_task(const job_id& id) {
    const auto root = roots_.find(id);
    if (root == roots_.end() || !std::holds_alternative<task_spec>(slots_[root->second])) {
      return fmt::format("erases task {}, which is not a registered standalone task", id);
    }
    roots_.erase(root);
    return {};
  }

  std::string erase_family(const job_id& parent) {
    const auto root = roots_.find(parent);
    const family_spec* family =
        root == roots_.end() ? nullptr : std::get_if<family_spec>(&slots_[root->second]);
    if (family == nullptr) {
      return fmt::format("erases family {}, which is not a registered family", parent);
    }
    children_.erase(family->forward.id);
    children_.erase(family->backward.id);
    roots_.erase(root);
    return {};
  }

  /// Every registration put, erased ones included (no longer indexed).
  std::vector<registration> slots_;
  /// Standalone tasks and family parents, to their slots.
  boost::unordered_flat_map<job_id, std::size_t, job_id_hash> roots_;
  /// Family children, to their family's slot.
  boost::unordered_flat_map<job_id, std::size_t, job_id_hash> children_;
  std::vector<feed_event> events_;
};

/// Moves what `model` rebuilt into `result`: the registrations, and the feed's events: the
/// checkpoint's, then the journal's, by position. Parts of operations take positions in one
/// order and reach the journal in another: the journal's are sorted.
void finish(registry_model& model, recovered_registry& result) {
  std::vector<feed_event>& replayed = model.events();
  std::sort(replayed.begin(), replayed.end(),
            [](const feed_event& a, const feed_event& b) { return a.position < b.position; });
  const std::uint64_t after = result.events.empty() ? 0 : result.events.back().position;
  for (const feed_event& e : replayed) {
    if (e.position > after) result.events.push_back(e);
  }
  result.tasks = model.take_sorted();
}

bool all_zero(const std::vector<std::byte>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

std::vector<std::byte> read_file(file_layer& files, const std::filesystem::path& path) {
  std::vector<std::byte> bytes;
  if (std::error_code ec = files.read_all(path, bytes)) {
    throw std::system_error(ec, "cannot read " + path.string());
  }
  return bytes;
}

void check(std::error_code ec, const std::string& what) {
  if (ec) throw std::system_error(ec, what);
}

/// One recovery: the state shared by its steps.
class recovery {
 public:
  recovery(file_layer& files, const std::filesystem::path& dir, repair mode)
      : files_(files), dir_(dir), mode_(mode) {}

  recovered_registry run() {
    std::vector<std::string> names;
    if (std::error_code ec = files_.list(dir_, names)) {
      if (ec == std::errc::no_such_file_or_directory) return std::move(result_);
      check(ec, "cannot list " + dir_.string());
    }
    const directory_listing listing = classify(names);
    result_.found = !listing.segments.empty() || !listing.checkpoints.empty();
    for (const std::string& name : listing.unknown) {
      result_.notes.push_back(fmt::format("{}: not a file of the registry, ignored", path(name)));
    }
    if (mode_ == repair::yes) {
      for (const std::string& name : listing.temporaries) remove(name, "an unfinished checkpoint");
    }
    const std::optional<damaged_checkpoint> damaged = load_checkpoint(listing);
    if (damaged) check_fallback_covered(listing, *damaged);
    replay(listing.segments);
    if (damaged && result_.last_lsn < damaged->lsn) {
      throw corruption_error(fmt::format(
          "{}; the journal after the older checkpoint ends at record {}, before the {} records "
          "the damaged one covers",
          damaged->why, result_.last_lsn, damaged->lsn));
    }
    if (removed_any_) check(files_.sync_directory(dir_), "cannot sync " + dir_.string());
    finish(model_, result_);
    return std::move(result_);
  }

 private:
  struct damaged_checkpoint {
    std::uint64_t lsn = 0;
    std::string why;
  };

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void remove(const std::string& name, std::string_view what) {
    check(files_.remove(dir_ / name), "cannot remove " + path(name));
    removed_any_ = true;
    result_.notes.push_back(fmt::format("{}: {}, removed", path(name), what));
  }

  /// Loads the newest checkpoint that reads back; returns what was wrong with the newest one
  /// when an older one (or none: the empty registry at 0) had to be used instead.
  std::optional<damaged_checkpoint> load_checkpoint(const directory_listing& listing) {
    std::optional<damaged_checkpoint> damaged;
    for (std::size_t i = listing.checkpoints.size(); i-- > 0;) {  // the newest first
      const directory_listing::entry& checkpoint = listing.checkpoints[i];
      checkpoint_contents contents;
      std::string why;
      if (!read_checkpoint(files_, dir_ / checkpoint.name, contents, why)) {
        if (!damaged) damaged = damaged_checkpoint{checkpoint.lsn, why};
        result_.notes.push_back(why + "; the checkpoint is damaged, recovery falls back");
        continue;
      }
      if (std::string problem = model_.adopt(std::move(contents.tasks)); !problem.empty()) {
        throw corruption_error(fmt::format("{}: {}", path(checkpoint.name), problem));
      }
      result_.checkpoint_lsn = contents.lsn;
      result_.last_lsn = contents.lsn;
      result_.events = std::move(contents.events);
      break;
    }
    return damaged;
  }

  /// A fallback checkpoint is used only when the journal goes on from it.
  void check_fallback_covered(const directory_listing& listing,
                              const damaged_checkpoint& damaged) const {
    const std::uint64_t next = result_.checkpoint_lsn + 1;
    if (listing.segments.empty() || listing.segments.front().lsn > next) {
      throw corruption_error(fmt::format(
          "{}; no older checkpoint is followed by the journal from its next record ({})",
          damaged.why, next));
    }
  }

  /// Replays the segments that can hold records after the checkpoint.
  void replay(const std::vector<directory_listing::entry>& segments) {
    if (segments.empty()) return;
    const std::uint64_t after = result_.checkpoint_lsn;
    // The first segment read: the last one starting at or before after + 1.
    auto first = std::upper_bound(segments.begin(), segments.end(), after + 1,
                                  [](std::uint64_t lsn, const auto& s) { return lsn < s.lsn; });
    if (first == segments.begin()) {
      throw corruption_error(fmt::format(
          "{}: records {}..{} are missing (the journal starts at record {}, the checkpoint "
          "covers up to {})",
          path(segments.front().name), after + 1, segments.front().lsn - 1, segments.front().lsn,
          after));
    }
    std::optional<std::uint64_t> next_lsn;  // of the record after the previous segment's last
    std::string previous;
    for (auto it = first - 1; it != segments.end(); ++it) {
      if (next_lsn && it->lsn != *next_lsn) {
        throw corruption_error(fmt::format(
            "{} ends at record {}, but {} starts at record {}: the records between are missing",
            path(previous), *next_lsn - 1, path(it->name), it->lsn));
      }
      if (const auto end = replay_segment(*it, it + 1 == segments.end())) {
        next_lsn = end;
        previous = it->name;
        result_.last_lsn = std::max(result_.last_lsn, *end - 1);
      }
    }
  }

  /// Replays one segment; returns the lsn after its last record, or nothing when the segment
  /// is a torn creation (the last one, with no header yet).
  std::optional<std::uint64_t> replay_segment(const directory_listing::entry& segment, bool last) {
    const std::filesystem::path file = dir_ / segment.name;
    const std::vector<std::byte> bytes = read_file(files_, file);
    std::string why;
    const auto header = read_header(bytes, file_type::journal_segment, why);
    if (!header) {
      if (last && (bytes.size() < header_size || all_zero(bytes))) {
        if (mode_ == repair::yes) {
          remove(segment.name, "a segment whose creation was cut short");
        } else {
          result_.notes.push_back(
              fmt::format("{}: a segment whose creation was cut short, ignored", file.string()));
        }
        return std::nullopt;
      }
      throw corruption_error(fmt::format("{}: {} at offset 0", file.string(), why));
    }
    if (header->lsn != segment.lsn) {
      throw corruption_error(
          fmt::format("{}: the header says the first record is {}", file.string(), header->lsn));
    }
    std::uint64_t lsn = header->lsn;
    const scan_result scan =
        scan_frames(bytes, header_size, [&](std::span<const std::byte> payload, std::uint64_t at) {
          std::optional<record> r = decode(payload, header->version);
          if (!r) return false;
          if (lsn > result_.checkpoint_lsn) {
            if (std::string problem = model_.apply(std::move(*r)); !problem.empty()) {
              throw corruption_error(
                  fmt::format("record {} at {}:{} {}", lsn, file.string(), at, problem));
            }
            ++result_.records_replayed;
          }
          ++lsn;
          return true;
        });
    if (scan.end == scan_end::torn && last) {
      cut_torn_tail(file, scan, bytes.size());
    } else if (scan.end != scan_end::clean) {
      throw corruption_error(fmt::format("{}: {} at offset {}; {}, refusing to recover past it",
                                         file.string(), scan.why, scan.bad_offset,
                                         scan.end == scan_end::corrupt
                                             ? "later records are intact"
                                             : "it is not the last segment"));
    }
    return lsn;
  }

  void cut_torn_tail(const std::filesystem::path& file, const scan_result& scan, std::size_t size) {
    const std::uint64_t cut = size - scan.valid_end;
    if (mode_ == repair::no) {
      result_.notes.push_back(fmt::format("{}: torn record at offset {} ({} bytes, {}), not cut",
                                          file.string(), scan.bad_offset, cut, scan.why));
      return;
    }
    std::unique_ptr<writable_file> f;
    check(files_.open_existing(file, f), "cannot open " + file.string());
    check(f->truncate(scan.valid_end), "cannot truncate " + file.string());
    check(f->sync_data(), "cannot sync " + file.string());
    result_.notes.push_back(fmt::format("{}: torn record at offset {} cut ({} bytes, {})",
                                        file.string(), scan.bad_offset, cut, scan.why));
  }

  file_layer& files_;
  const std::filesystem::path& dir_;
  repair mode_;
  registry_model model_;
  recovered_registry result_;
  bool removed_any_ = false;
};

/// Replays one group a journal_store returned, in the bytes of a segment holding just it
/// (store_sink.hpp): every record must decode and fit, and the group must hold exactly
/// first_lsn..last_lsn. Records the checkpoint covers are skipped.
void replay_group(const stored_journal::group& g, const std::string& where, registry_model& model,
                  recovered_registry& result) {
  const std::string name = fmt::format("{}, records {}..{}", where, g.first_lsn, g.last_lsn);
  const std::span<const std::byte> bytes = std::as_bytes(std::span(g.records));
  std::string why;
  const auto header = read_header(bytes, file_type::journal_segment, why);
  if (!header) throw corruption_error(fmt::format("{}: {}", name, why));
  if (header->lsn != g.first_lsn) {
    throw corruption_error(
        fmt::format("{}: the header says the first record is {}", name, header->lsn));
  }
  std::uint64_t lsn = g.first_lsn;
  const scan_result scan =
      scan_frames(bytes, header_size, [&](std::span<const std::byte> payload, std::uint64_t at) {
        std::optional<record> r = decode(payload, header->version);
        if (!r) return false;
        if (lsn > result.checkpoint_lsn) {
          if (std::string problem = model.apply(std::move(*r)); !problem.empty()) {
            throw corruption_error(fmt::format("{}: record {} at {} {}", name, lsn, at, problem));
          }
          ++result.records_replayed;
        }
        ++lsn;
        return true;
      });
  if (scan.end != scan_end::clean) {
    throw corruption_error(fmt::format("{}: {} at offset {}", name, scan.why, scan.bad_offset));
  }
  if (lsn != g.last_lsn + 1) {
    throw corruption_error(
        fmt::format("{}: the group holds records {}..{}", name, g.first_lsn, lsn - 1));
  }
  result.last_lsn = std::max(result.last_lsn, g.last_lsn);
}

}  // namespace

recovered_registry recover(file_layer& files, const std::filesystem::path& dir, repair mode) {
  return recovery(files, dir, mode).run();
}

recovered_registry recover(const stored_journal& stored, const std::string& where) {
  registry_model model;
  recovered_registry result;
  result.found = !stored.checkpoint.empty() || !stored.groups.empty();
  if (!stored.checkpoint.empty()) {
    checkpoint_contents contents;
    std::string why;
    if (!parse_checkpoint(std::as_bytes(std::span(stored.checkpoint)),
                          fmt::format("{}, checkpoint", where), contents, why)) {
      throw corruption_error(why);
    }
    if (contents.lsn != stored.checkpoint_lsn) {
      throw corruption_error(fmt::format("{}: the checkpoint of record {} says it covers {}", where,
                                         stored.checkpoint_lsn, contents.lsn));
    }
    if (std::string problem = model.adopt(std::move(contents.tasks)); !problem.empty()) {
      throw corruption_error(fmt::format("{}, checkpoint: {}", where, problem));
    }
    result.checkpoint_lsn = result.last_lsn = contents.lsn;
    result.events = std::move(contents.events);
  }
  for (const stored_journal::group& g : stored.groups) {
    if (g.first_lsn > result.last_lsn + 1 || g.last_lsn <= result.last_lsn) {
      throw corruption_error(
          fmt::format("{}: records {}..{} follow record {}: the journal has a gap or an overlap",
                      where, g.first_lsn, g.last_lsn, result.last_lsn));
    }
    replay_group(g, where, model, result);
  }
  finish(model, result);
  return result;
}

}  // namespace taskorch::storage
