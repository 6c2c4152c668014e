#include "fleet_file.hpp"

#include <boost/unordered/unordered_flat_set.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <simdjson.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace taskorch::app {

namespace {

namespace dom = simdjson::dom;

/// Thrown inside the parser only; parse_fleet turns it into its error message.
struct refusal {
  std::string message;
};

class fleet_reader {
 public:
  std::vector<registration> read(dom::element doc) {
    dom::element jobs;
    if (!doc.is_object() || dom::object(doc).at_key("jobs").get(jobs) != simdjson::SUCCESS ||
        !jobs.is_array()) {
      throw refusal{"the document must be an object with a \"jobs\" array"};
    }
    std::vector<registration> out;
    out.reserve(dom::array(jobs).size());
    std::size_t index = 0;
    for (dom::element job : dom::array(jobs)) {
      out.push_back(read_job(job, index++));
    }
    return out;
  }

 private:
  [[noreturn]] static void fail(std::string_view job, std::string_view field,
                                std::string_view problem) {
    throw refusal{fmt::format("job {}: field \"{}\": {}", job, field, problem)};
  }

  static std::optional<dom::element> get(dom::object obj, std::string_view key) {
    dom::element value;
    if (obj.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
    return value;
  }

  static std::optional<std::string_view> text(dom::object obj, std::string_view key,
                                              std::string_view job) {
    auto value = get(obj, key);
    if (!value) return std::nullopt;
    if (!value->is_string()) fail(job, key, "must be a string");
    return std::string_view(*value);
  }

  job_id read_id(dom::object obj, std::string_view where) {
    auto value = text(obj, "id", where);
    if (!value) fail(where, "id", "is missing");
    auto id = job_id::parse(*value);
    if (!id) fail(*value, "id", "is not a job id of the DRS shape");
    if (!seen_.insert(*id).second) fail(*value, "id", "appears twice in the file");
    return *id;
  }

  static task_state read_status(dom::object obj, std::string_view job) {
    auto value = text(obj, "status", job);
    if (!value) fail(job, "status", "is missing");
    auto state = parse_drs_status(*value);
    if (!state) fail(job, "status", fmt::format("unknown status \"{}\"", *value));
    return *state;
  }

  static std::optional<pause_info> read_pause(dom::object obj, task_state state,
                                              std::string_view job) {
    auto mode = text(obj, "pause_mode", job);
    auto from = text(obj, "paused_from", job);
    if (state != task_state::paused) {
      if (mode) fail(job, "pause_mode", "appears only with status PAUSING");
      if (from) fail(job, "paused_from", "appears only with status PAUSING");
      return std::nullopt;
    }
    if (!mode) fail(job, "pause_mode", "is required with status PAUSING");
    if (!from) fail(job, "paused_from", "is required with status PAUSING");
    auto parsed_mode = parse_pause_mode(*mode);
    if (!parsed_mode) fail(job, "pause_mode", "must be \"target\" or \"all\"");
    auto parsed_from = parse_drs_status(*from);
    if (!parsed_from || !is_pausable(*parsed_from)) {
      fail(job, "paused_from", fmt::format("\"{}\" is not a pausable status", *from));
    }
    return pause_info{*parsed_mode, *parsed_from};
  }

  static std::optional<wall_time> read_start_time(dom::object obj, task_state state,
                                                  std::string_view job) {
    auto value = get(obj, "start_time");
    if (state != task_state::waiting_for_start) {
      if (value) fail(job, "start_time", "appears only with status WAITING_FOR_START");
      return std::nullopt;
    }
    if (!value) fail(job, "start_time", "is required with status WAITING_FOR_START");
    if (!value->is_int64() || std::int64_t(*value) <= 0) {
      fail(job, "start_time", "must be a positive number of milliseconds since the epoch");
    }
    return wall_time(std::chrono::milliseconds(std::int64_t(*value)));
  }

  static std::uint64_t read_version(dom::object obj, std::string_view job) {
    auto value = get(obj, "version");
    if (!value) return 0;
    if (!value->is_uint64()) fail(job, "version", "must be a non-negative integer");
    return std::uint64_t(*value);
  }

  registration read_job(dom::element element, std::size_t index) {
    const std::string position = fmt::format("#{}", index + 1);
    if (!element.is_object()) fail(position, "jobs", "each job must be an object");
    const dom::object obj(element);
    const job_id id = read_id(obj, position);
    const std::string shown = id.to_string();

    auto project_text = text(obj, "project_id", shown);
    if (!project_text) fail(shown, "project_id", "is missing");
    auto project = project_id::parse(*project_text);
    if (!project) fail(shown, "project_id", "must be 32 lowercase hexadecimal characters");
    std::string name(text(obj, "name", shown).value_or(""));
    auto kind_text = text(obj, "db_use_type", shown);
    if (!kind_text) fail(shown, "db_use_type", "is missing");
    auto kind = parse_task_kind(*kind_text);
    if (!kind) fail(shown, "db_use_type", "must be migration, sync or cloudDataGuard");

    auto multi_write = get(obj, "multi_write");
    if (multi_write && !multi_write->is_bool()) fail(shown, "multi_write", "must be a boolean");
    if (!multi_write || !bool(*multi_write)) {
      const task_state state = read_status(obj, shown);
      return task_spec{id,
                       *project,
                       *kind,
                       state,
                       read_pause(obj, state, shown),
                       read_start_time(obj, state, shown),
                       std::move(name),
                       read_version(obj, shown)};
    }

    if (*kind != task_kind::cloud_data_guard) {
      fail(shown, "db_use_type", "a multi_write family must be cloudDataGuard");
    }
    if (get(obj, "status")) fail(shown, "status", "a dual-active parent has no status of its own");
    auto children = get(obj, "children");
    if (!children || !children->is_array() || dom::array(*children).size() != 2) {
      fail(shown, "children", "a dual-active parent needs exactly two children");
    }
    std::vector<child_spec> kids;
    for (dom::element child : dom::array(*children)) {
      if (!child.is_object()) fail(shown, "children", "each child must be an object");
      const dom::object c(child);
      const job_id child_id = read_id(c, shown + " child");
      const std::string child_shown = child_id.to_string();
      const task_state state = read_status(c, child_shown);
      kids.push_back({child_id, state, read_pause(c, state, child_shown),
                      read_start_time(c, state, child_shown), read_version(c, child_shown)});
    }
    return family_spec{id, *project, std::move(name), kids[0], kids[1]};
  }

  boost::unordered_flat_set<job_id, job_id_hash> seen_;
};

}  // namespace

fleet_result parse_fleet(std::string_view document) {
  dom::parser parser;
  dom::element doc;
  if (auto error = parser.parse(document.data(), document.size()).get(doc)) {
    return fmt::format("not valid JSON: {}", simdjson::error_message(error));
  }
  try {
    return fleet_reader().read(doc);
  } catch (const refusal& r) {
    return r.message;
  }
}

namespace {

/// The text of the error in errno (std::strerror may share its buffer between threads).
std::string errno_message() { return std::generic_category().message(errno); }

/// Closes a file descriptor when it goes.
class closer {
 public:
  explicit closer(int fd) noexcept : fd_(fd) {}
  ~closer() { ::close(fd_); }
  closer(const closer&) = delete;
  closer& operator=(const closer&) = delete;

 private:
  int fd_;
};

/// Reads the whole regular file at `path` into `out`; returns why it could not.
std::string read_regular_file(const std::filesystem::path& path, std::string& out) {
  // Non-blocking, so that opening a FIFO without a writer does not wait for one.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic in C
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno_message();
  const closer closing(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) return errno_message();
  if (!S_ISREG(info.st_mode)) return "not a regular file";
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size > max_fleet_bytes) {
    return fmt::format("larger than {} MiB ({} bytes)", max_fleet_bytes >> 20, size);
  }
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_message();
    if (n == 0) break;  // the file shrank meanwhile
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return {};
}

}  // namespace

fleet_result load_fleet_file(const std::filesystem::path& path) {
  std::string content;
  std::string problem = read_regular_file(path, content);
  fleet_result result = problem.empty() ? parse_fleet(content) : fleet_result(std::move(problem));
  if (auto* message = std::get_if<std::string>(&result)) {
    *message = fmt::format("{}: {}", path.string(), *message);
  }
  return result;
}

}  // namespace taskorch::app
