#include "body_scan.hpp"
#include "duplicate_finder.hpp"
#include <taskorch/http/body_parser.hpp>

#include <algorithm>
#include <new>
#include <optional>
#include <simdjson.h>

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

std::optional<job_id> job_id_of(dom::element value) {
  if (!value.is_string()) return std::nullopt;
  return job_id::parse(std::string_view(value));
}

/// The depth the DOM parser is allocated for: the scan has already refused anything deeper than
/// `max_depth` levels; one more for simdjson's own count of the document.
std::size_t dom_depth(const body_limits& limits) { return limits.max_depth + 2; }

constexpr std::size_t initial_capacity = 4096;

}  // namespace

struct body_parser::impl {
  dom::parser parser;
  std::string buffer;  ///< the body, with simdjson's padding, wide numbers rewritten

  /// Scans and parses the document and checks the `jobs` array; on success `jobs` is set.
  std::optional<request_error> open(std::string_view body, const body_limits& limits,
                                    dom::object& root, dom::array& jobs) {
    buffer.resize(body.size() + simdjson::SIMDJSON_PADDING);
    std::copy(body.begin(), body.end(), buffer.begin());
    if (auto refused = detail::scan_body(buffer.data(), body.size(), limits)) return refused;
    dom::element doc;
    if (parser.parse(buffer.data(), body.size(), false).get(doc) != simdjson::SUCCESS ||
        !doc.is_object() || repeats_a_key(doc)) {
      return request_error::malformed_body();
    }
    root = dom::object(doc);
    std::optional<dom::element> list = field(root, "jobs");
    if (!list || !list->is_array() || dom::array(*list).size() == 0) {
      return request_error::empty("jobs");
    }
    jobs = dom::array(*list);
    // The scan counted the items unless `jobs` was spelled with escapes.
    if (jobs.size() > limits.max_jobs) return request_error::too_many_jobs(limits.max_jobs);
    return std::nullopt;
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
  const impl::shrink_on_exit shrink(*impl_, limits_);
  dom::object root;
  dom::array jobs;
  if (auto error = impl_->open(body, limits_, root, jobs)) return *std::move(error);
  std::vector<pause_item> items;
  items.reserve(jobs.size());
  duplicate_finder duplicates(jobs.size());
  for (dom::element item : jobs) {
    if (!item.is_object()) return request_error::empty("jobs");
    const dom::object obj(item);
    const std::optional<dom::element> id = field(obj, "job_id");
    const std::optional<dom::element> mode = field(obj, "pause_mode");
    if (is_empty(id)) return request_error::empty("job_id");
    if (is_empty(mode)) return request_error::empty("pause_mode");
    const std::optional<job_id> parsed_id = job_id_of(*id);
    if (!parsed_id) return request_error::invalid("job_id");
    std::optional<pause_mode> parsed_mode;
    if (mode->is_string()) parsed_mode = parse_pause_mode(std::string_view(*mode));
    if (!parsed_mode) return request_error::invalid("pause_mode");
    if (duplicates.repeated(*parsed_id)) return request_error::duplicate("job_id");
    items.push_back({*parsed_id, *parsed_mode});
  }
  return items;
}

parse_result<std::vector<job_id>> body_parser::parse_retry(std::string_view body) {
  const impl::shrink_on_exit shrink(*impl_, limits_);
  dom::object root;
  dom::array jobs;
  if (auto error = impl_->open(body, limits_, root, jobs)) return *std::move(error);
  std::vector<job_id> ids;
  ids.reserve(jobs.size());
  duplicate_finder duplicates(jobs.size());
  for (dom::element item : jobs) {
    if (!item.is_object()) return request_error::empty("jobs");
    const dom::object obj(item);
    const std::optional<dom::element> id = field(obj, "job_id");
    if (is_empty(id)) return request_error::empty("job_id");
    const std::optional<job_id> parsed_id = job_id_of(*id);
    if (!parsed_id) return request_error::invalid("job_id");
    if (auto re_edit = field(obj, "is_sync_re_edit"); re_edit && !re_edit->is_bool()) {
      return request_error::invalid("is_sync_re_edit");
    }
    if (duplicates.repeated(*parsed_id)) return request_error::duplicate("job_id");
    ids.push_back(*parsed_id);
  }
  return ids;
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
    const dom::object obj(*page);
    if (auto cur = field(obj, "cur_page")) {
      if (!cur->is_int64() || std::int64_t(*cur) < 1) return request_error::invalid("cur_page");
      query.cur_page = static_cast<std::size_t>(std::int64_t(*cur));
    }
    if (auto per = field(obj, "per_page")) {
      if (!per->is_int64() || std::int64_t(*per) < 0 || std::int64_t(*per) > 100) {
        return request_error::invalid("per_page");
      }
      query.per_page = static_cast<std::size_t>(std::int64_t(*per));
    }
  }
  return query;
}

}  // namespace taskorch::http
