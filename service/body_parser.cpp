#include "body_scan.hpp"
#include "duplicate_finder.hpp"
#include <taskorch/http/body_parser.hpp>
#include <taskorch/task_event.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>
#include <simdjson.h>
#include <system_error>

namespace taskorch::http {

namespace {

namespace dom = simdjson::dom;
using detail::duplicate_finder;

/// True when an object, or any object inside it, repeats a key.
bool repeats_a_key(dom::element e) {
  if (e.is_array()) {
    const dom::array children(e);
    return std::any_of(children.begin(), children.end(), repeats_a_key);
  }
  if (!e.is_object()) return false;
  dom::object obj(e);
  std::vector<std::string_view> keys;
  keys.reserve(obj.size());
  for (dom::key_value_pair field : obj) {
    if (repeats_a_key(field.value)) return true;
    keys.push_back(field.key);
  }
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

/// A field of `obj`, absent when missing or null.
std::optional<dom::element> field(dom::object obj, std::string_view key) {
  dom::element value;
  if (obj.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

/// True when a required field is absent, null or the empty string.
bool is_empty(const std::optional<dom::element>& value) {
  return !value || (value->is_string() && std::string_view(*value).empty());
}

/// What `parse` makes of a string value: nullopt for a value of another type, or a string that
/// `parse` refuses.
template <class Parse>
auto parsed_string(dom::element value, Parse parse) -> decltype(parse(std::string_view())) {
  if (!value.is_string()) return std::nullopt;
  return parse(std::string_view(value));
}

std::optional<job_id> job_id_of(dom::element value) { return parsed_string(value, &job_id::parse); }

/// An integer from `min` to `max`; nullopt for any other value.
std::optional<std::int64_t> integer_in(dom::element value, std::int64_t min, std::int64_t max) {
  if (!value.is_int64()) return std::nullopt;
  const auto n = std::int64_t(value);
  if (n < min || n > max) return std::nullopt;
  return n;
}

/// A count from 0 to `max`, written as a JSON integer or as a string of decimal digits only (no
/// sign, space or point); nullopt for any other value.
std::optional<std::int64_t> count_of(dom::element value, std::int64_t max) {
  if (value.is_int64()) return integer_in(value, 0, max);
  if (!value.is_string()) return std::nullopt;
  const std::string_view text(value);
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;  // from_chars would take a sign
  }
  std::int64_t n = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (error != std::errc() || end != text.data() + text.size() || n > max) return std::nullopt;
  return n;
}

/// A `start_time`: milliseconds since the Unix epoch, as an integer or a string of decimal
/// digits, from 0 to 2^63 - 1 (what wall_time holds); nullopt for any other value.
std::optional<wall_time> wall_time_of(dom::element value) {
  const std::optional<std::int64_t> ms = count_of(value, std::numeric_limits<std::int64_t>::max());
  if (!ms) return std::nullopt;
  return wall_time(std::chrono::milliseconds(*ms));
}

constexpr std::int64_t max_per_page = 100;

/// Reads `cur_page` (an integer of at least `min_cur_page`) and `per_page` (an integer from 0 to
/// max_per_page) of `obj`, each when present, into the query's fields.
std::optional<request_error> read_paging(dom::object obj, std::int64_t min_cur_page,
                                         std::size_t& cur_page, std::size_t& per_page) {
  if (auto cur = field(obj, "cur_page")) {
    const auto n = integer_in(*cur, min_cur_page, std::numeric_limits<std::int64_t>::max());
    if (!n) return request_error::invalid("cur_page");
    cur_page = static_cast<std::size_t>(*n);
  }
  if (auto per = field(obj, "per_page")) {
    const auto n = integer_in(*per, 0, max_per_page);
    if (!n) return request_error::invalid("per_page");
    per_page = static_cast<std::size_t>(*n);
  }
  return std::nullopt;
}

/// True when `ids` holds an id twice.
bool has_repeat(const std::vector<job_id>& ids) {
  duplicate_finder duplicates(ids.size());
  return std::any_of(ids.begin(), ids.end(),
                     [&duplicates](const job_id& id) { return duplicates.repeated(id); });
}

// The items of the batch bodies. Each reader checks one item, every emptiness check before
// every value check, and fills `out`; the caller then checks the id for a repeat.

const job_id& id_of(const job_id& id) { return id; }
const job_id& id_of(const pause_item& item) { return item.id; }
const job_id& id_of(const start_item& item) { return item.id; }
const job_id& id_of(const delete_item& item) { return item.id; }
const job_id& id_of(const report_item& item) { return item.id; }

/// The `job_id` of an item, once every field has passed its emptiness check.
std::optional<request_error> read_job_id(dom::element id, job_id& out) {
  const std::optional<job_id> parsed = job_id_of(id);
  if (!parsed) return request_error::invalid("job_id");
  out = *parsed;
  return std::nullopt;
}

/// batch-pause-task: `{"job_id","pause_mode"}`, both required.
std::optional<request_error> read_item(dom::object obj, pause_item& out) {
  const std::optional<dom::element> id = field(obj, "job_id");
  const std::optional<dom::element> mode = field(obj, "pause_mode");
  if (is_empty(id)) return request_error::empty("job_id");
  if (is_empty(mode)) return request_error::empty("pause_mode");
  if (auto error = read_job_id(*id, out.id)) return error;
  const std::optional<pause_mode> parsed_mode = parsed_string(*mode, parse_pause_mode);
  if (!parsed_mode) return request_error::invalid("pause_mode");
  out.mode = *parsed_mode;
  return std::nullopt;
}

/// batch-retry-task: `{"job_id","is_sync_re_edit"?}`; the flag is checked and dropped.
std::optional<request_error> read_item(dom::object obj, job_id& out) {
  const std::optional<dom::element> id = field(obj, "job_id");
  if (is_empty(id)) return request_error::empty("job_id");
  if (auto error = read_job_id(*id, out)) return error;
  if (auto re_edit = field(obj, "is_sync_re_edit"); re_edit && !re_edit->is_bool()) {
    return request_error::invalid("is_sync_re_edit");
  }
  return std::nullopt;
}

/// batch-starting: `{"job_id","start_time"?}`; a `start_time` of "" means now, as absent.
std::optional<request_error> read_item(dom::object obj, start_item& out) {
  const std::optional<dom::element> id = field(obj, "job_id");
  const std::optional<dom::element> start = field(obj, "start_time");
  if (is_empty(id)) return request_error::empty("job_id");
  if (auto error = read_job_id(*id, out.id)) return error;
  if (!is_empty(start)) {
    out.start_time = wall_time_of(*start);
    if (!out.start_time) return request_error::invalid("start_time");
  }
  return std::nullopt;
}

/// batch-jobs (DELETE): `{"job_id","delete_type"}`, both required.
std::optional<request_error> read_item(dom::object obj, delete_item& out) {
  const std::optional<dom::element> id = field(obj, "job_id");
  const std::optional<dom::element> type = field(obj, "delete_type");
  if (is_empty(id)) return request_error::empty("job_id");
  if (is_empty(type)) return request_error::empty("delete_type");
  if (auto error = read_job_id(*id, out.id)) return error;
  const std::optional<delete_type> parsed_type = parsed_string(*type, parse_delete_type);
  if (!parsed_type) return request_error::invalid("delete_type");
  out.type = *parsed_type;
  return std::nullopt;
}

/// The `event` of a report that carries the transfer's figures only.
constexpr std::string_view figures_only = "progress";
constexpr std::int64_t max_progress = 100;
constexpr std::int64_t max_delay_seconds = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t max_version = std::numeric_limits<std::int64_t>::max();

/// True for an `event` of "progress": the figures alone.
bool is_figures_only(dom::element event) {
  return event.is_string() && std::string_view(event) == figures_only;
}

/// A report's `event` other than "progress": a worker event; nullopt for any other value (a
/// command, the schedule's event, an unknown name, a non-string).
std::optional<task_event> worker_event_of(dom::element value) {
  const std::optional<task_event> event = parsed_string(value, parse_task_event);
  if (!event || !is_worker_event(*event)) return std::nullopt;
  return event;
}

/// The `command` a "confirmed" report names: a command that awaits a worker.
std::optional<task_event> awaited_command_of(dom::element value) {
  const std::optional<task_event> command = parsed_string(value, parse_task_event);
  if (!command || !awaits_worker(*command)) return std::nullopt;
  return command;
}

/// A "confirmed" report's optional `command` and `version` (refused with any other event).
std::optional<request_error> read_confirmation(const std::optional<dom::element>& command,
                                               const std::optional<dom::element>& version,
                                               report_item& out) {
  if (command && !command->is_null()) {
    out.confirms = awaited_command_of(*command);
    if (!out.confirms || out.event != task_event::confirm) return request_error::invalid("command");
  }
  if (version && !version->is_null()) {
    const std::optional<std::int64_t> v = count_of(*version, max_version);
    if (!v || out.event != task_event::confirm) return request_error::invalid("version");
    out.confirms_version = static_cast<std::uint64_t>(*v);
  }
  return std::nullopt;
}

/// A report's transfer figures, when it has one at least (the other is then 0).
std::optional<request_error> read_figures(const std::optional<dom::element>& progress,
                                          const std::optional<dom::element>& delay,
                                          report_item& out) {
  if (!progress && !delay) return std::nullopt;
  transfer_figures figures;
  if (progress) {
    const std::optional<std::int64_t> percent = count_of(*progress, max_progress);
    if (!percent) return request_error::invalid("progress");
    figures.progress = static_cast<std::uint8_t>(*percent);
  }
  if (delay) {
    const std::optional<std::int64_t> seconds = count_of(*delay, max_delay_seconds);
    if (!seconds) return request_error::invalid("incre_trans_delay");
    figures.incre_trans_delay = std::chrono::seconds(*seconds);
  }
  out.figures = figures;
  return std::nullopt;
}

/// batch-report: `{"job_id","event","progress"?,"incre_trans_delay"?,"command"?,"version"?}`.
/// An event of "progress" needs one figure at least; a report with one figure has the other
/// at 0; `command` and `version` go only with "confirmed".
std::optional<request_error> read_item(dom::object obj, report_item& out) {
  const std::optional<dom::element> id = field(obj, "job_id");
  const std::optional<dom::element> event = field(obj, "event");
  const std::optional<dom::element> progress = field(obj, "progress");
  const std::optional<dom::element> delay = field(obj, "incre_trans_delay");
  if (is_empty(id)) return request_error::empty("job_id");
  if (is_empty(event)) return request_error::empty("event");
  if (!progress && !delay && is_figures_only(*event)) return request_error::empty("progress");
  if (auto error = read_job_id(*id, out.id)) return error;
  if (!is_figures_only(*event)) {
    out.event = worker_event_of(*event);
    if (!out.event) return request_error::invalid("event");
  }
  if (auto error = read_confirmation(field(obj, "command"), field(obj, "version"), out)) {
    return error;
  }
  return read_figures(progress, delay, out);
}

// The task list's `name`: a list of ids or a name to search for.

constexpr std::size_t max_name_ids = 100;
constexpr std::size_t max_name_bytes = 255;

std::string_view trim_spaces(std::string_view text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

/// The ids of a `name` whose every comma-separated piece, trimmed of spaces, is a job id;
/// nullopt when a piece is not.
std::optional<std::vector<job_id>> id_list(std::string_view text) {
  std::vector<job_id> ids;
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::optional<job_id> id = job_id::parse(trim_spaces(text.substr(0, comma)));
    if (!id) return std::nullopt;
    ids.push_back(*id);
    if (comma == std::string_view::npos) return ids;
    text.remove_prefix(comma + 1);
  }
}

/// Reads `name` into the query's ids or name, checking its size (a repeated id is the caller's
/// last check).
std::optional<request_error> read_name(dom::element value, list_query& query) {
  if (!value.is_string()) return request_error::invalid("name");
  const std::string_view text(value);
  if (std::optional<std::vector<job_id>> ids = id_list(text)) {
    if (ids->size() > max_name_ids) return request_error::invalid("name");
    query.ids = *std::move(ids);
  } else {
    if (text.size() > max_name_bytes) return request_error::invalid("name");
    query.name = text;
  }
  return std::nullopt;
}

/// Reads the filters of a task list query: `status`, `db_use_type` and `name`.
std::optional<request_error> read_filters(dom::object root, list_query& query) {
  if (auto status = field(root, "status")) {
    query.status = parsed_string(*status, parse_drs_status);
    if (!query.status) return request_error::invalid("status");
  }
  if (auto kind = field(root, "db_use_type")) {
    query.kind = parsed_string(*kind, parse_task_kind);
    if (!query.kind) return request_error::invalid("db_use_type");
  }
  if (auto name = field(root, "name")) return read_name(*name, query);
  return std::nullopt;
}

/// The depth the DOM parser is allocated for: the scan has already refused anything deeper than
/// `max_depth` levels; one more for simdjson's own count of the document.
std::size_t dom_depth(const body_limits& limits) { return limits.max_depth + 2; }

constexpr std::size_t initial_capacity = 4096;

}  // namespace

struct body_parser::impl {
  dom::parser parser;
  std::string buffer;  ///< the body, with simdjson's padding, wide numbers rewritten

  /// Scans and parses the document, which must be an object; on success `root` is set.
  std::optional<request_error> open_object(std::string_view body, const body_limits& limits,
                                           dom::object& root) {
    buffer.resize(body.size() + simdjson::SIMDJSON_PADDING);
    std::copy(body.begin(), body.end(), buffer.begin());
    if (auto refused = detail::scan_body(buffer.data(), body.size(), limits)) return refused;
    dom::element doc;
    if (parser.parse(buffer.data(), body.size(), false).get(doc) != simdjson::SUCCESS ||
        !doc.is_object() || repeats_a_key(doc)) {
      return request_error::malformed_body();
    }
    root = dom::object(doc);
    return std::nullopt;
  }

  /// Scans and parses the document and checks the `jobs` array; on success `jobs` is set.
  std::optional<request_error> open(std::string_view body, const body_limits& limits,
                                    dom::object& root, dom::array& jobs) {
    if (auto error = open_object(body, limits, root)) return error;
    std::optional<dom::element> list = field(root, "jobs");
    if (!list || !list->is_array() || dom::array(*list).size() == 0) {
      return request_error::empty("jobs");
    }
    jobs = dom::array(*list);
    // The scan counted the items unless `jobs` was spelled with escapes.
    if (jobs.size() > limits.max_jobs) return request_error::too_many_jobs(limits.max_jobs);
    return std::nullopt;
  }

  /// Parses a body whose `jobs` are objects, each read by read_item into an Item: in request
  /// order, an item that is not an object refused as empty, and a repeated id at its second
  /// occurrence, after the item's own checks.
  template <class Item>
  parse_result<std::vector<Item>> parse_objects(std::string_view body, const body_limits& limits) {
    const shrink_on_exit shrink(*this, limits);
    dom::object root;
    dom::array jobs;
    if (auto error = open(body, limits, root, jobs)) return *std::move(error);
    std::vector<Item> items;
    items.reserve(jobs.size());
    duplicate_finder duplicates(jobs.size());
    for (dom::element item : jobs) {
      if (!item.is_object()) return request_error::empty("jobs");
      Item parsed;
      if (auto error = read_item(dom::object(item), parsed)) return *std::move(error);
      if (duplicates.repeated(id_of(parsed))) return request_error::duplicate("job_id");
      items.push_back(parsed);
    }
    return items;
  }

  /// Gives back buffers grown over `keep_bytes` by a large body when a parse ends, whatever
  /// its outcome (the parse results are copies: nothing points into the buffers).
  class shrink_on_exit {
   public:
    shrink_on_exit(impl& owner, const body_limits& limits) : owner_(owner), limits_(limits) {}
    ~shrink_on_exit() {
      if (owner_.buffer.capacity() > limits_.keep_bytes) std::string().swap(owner_.buffer);
      // The parser's buffers and its document's tape (8 bytes a JSON byte at worst) both
      // grow to the largest body. Allocating less than they hold: a failure leaves them as
      // they were, and the next parse grows them again as needed.
      if (owner_.parser.capacity() > limits_.keep_bytes) {
        const simdjson::error_code ignored =
            owner_.parser.allocate(initial_capacity, dom_depth(limits_));
        static_cast<void>(ignored);
      }
      if (owner_.parser.doc.capacity() > limits_.keep_bytes) {
        const simdjson::error_code ignored = owner_.parser.doc.allocate(initial_capacity);
        static_cast<void>(ignored);
      }
    }
    shrink_on_exit(const shrink_on_exit&) = delete;
    shrink_on_exit& operator=(const shrink_on_exit&) = delete;

   private:
    impl& owner_;
    const body_limits& limits_;
  };
};

body_parser::body_parser(body_limits limits) : limits_(limits), impl_(std::make_unique<impl>()) {
  if (impl_->parser.allocate(initial_capacity, dom_depth(limits_)) != simdjson::SUCCESS) {
    throw std::bad_alloc();
  }
}

std::size_t body_parser::capacity() const noexcept {
  return impl_->buffer.capacity() + impl_->parser.capacity() + impl_->parser.doc.capacity();
}

body_parser::~body_parser() = default;
body_parser::body_parser(body_parser&&) noexcept = default;
body_parser& body_parser::operator=(body_parser&&) noexcept = default;

parse_result<std::vector<pause_item>> body_parser::parse_pause(std::string_view body) {
  return impl_->parse_objects<pause_item>(body, limits_);
}

parse_result<std::vector<job_id>> body_parser::parse_retry(std::string_view body) {
  return impl_->parse_objects<job_id>(body, limits_);
}

parse_result<std::vector<start_item>> body_parser::parse_starting(std::string_view body) {
  return impl_->parse_objects<start_item>(body, limits_);
}

parse_result<std::vector<delete_item>> body_parser::parse_delete(std::string_view body) {
  return impl_->parse_objects<delete_item>(body, limits_);
}

parse_result<std::vector<report_item>> body_parser::parse_report(std::string_view body) {
  return impl_->parse_objects<report_item>(body, limits_);
}

parse_result<status_query> body_parser::parse_status(std::string_view body) {
  const impl::shrink_on_exit shrink(*impl_, limits_);
  dom::object root;
  dom::array jobs;
  if (auto error = impl_->open(body, limits_, root, jobs)) return *std::move(error);
  status_query query;
  query.ids.reserve(jobs.size());
  duplicate_finder duplicates(jobs.size());
  for (dom::element item : jobs) {
    if (item.is_null() || (item.is_string() && std::string_view(item).empty())) {
      return request_error::empty("jobs");
    }
    const std::optional<job_id> parsed_id = job_id_of(item);
    if (!parsed_id) return request_error::invalid("jobs");
    if (duplicates.repeated(*parsed_id)) return request_error::duplicate("jobs");
    query.ids.push_back(*parsed_id);
  }
  if (std::optional<dom::element> page = field(root, "page_req")) {
    if (!page->is_object()) return request_error::invalid("page_req");
    if (auto error = read_paging(dom::object(*page), 1, query.cur_page, query.per_page)) {
      return *std::move(error);
    }
  }
  return query;
}

parse_result<list_query> body_parser::parse_list(std::string_view body) {
  const impl::shrink_on_exit shrink(*impl_, limits_);
  dom::object root;
  // This endpoint alone takes an empty body, for `{}`: list everything.
  if (auto error = impl_->open_object(body.empty() ? "{}" : body, limits_, root)) {
    return *std::move(error);
  }
  list_query query;
  if (auto error = read_filters(root, query)) return *std::move(error);
  if (auto error = read_paging(root, 0, query.cur_page, query.per_page)) return *std::move(error);
  if (has_repeat(query.ids)) return request_error::duplicate("name");
  return query;
}

}  // namespace taskorch::http
