// libFuzzer target: the JSON bodies of the batch endpoints and of the task list. Whatever the
// bytes, the parser returns a request or an error, and an accepted request respects the limits.
#include <taskorch/http/body_parser.hpp>

#include <boost/unordered/unordered_flat_set.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

constexpr std::size_t max_jobs = 64;

void require(bool condition) {
  if (!condition) std::abort();
}

/// Every id valid, none twice.
template <class Items, class IdOf>
void check_ids(const Items& items, IdOf id_of) {
  boost::unordered_flat_set<taskorch::job_id, taskorch::job_id_hash> seen;
  for (const auto& item : items) {
    const taskorch::job_id id = id_of(item);
    require(taskorch::job_id::parse(id.to_string()) == id);
    require(seen.insert(id).second);
  }
}

/// The items of an accepted batch: from 1 to max_jobs, their ids valid and distinct.
template <class Items, class IdOf>
void check_accepted(const Items& items, IdOf id_of) {
  require(!items.empty() && items.size() <= max_jobs);
  check_ids(items, id_of);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static taskorch::http::body_parser parser({.max_jobs = max_jobs, .max_depth = 8});
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  auto pause = parser.parse_pause(body);
  if (auto* items = std::get_if<std::vector<taskorch::pause_item>>(&pause)) {
    check_accepted(*items, [](const taskorch::pause_item& i) { return i.id; });
  } else {
    require(std::get<taskorch::http::request_error>(pause).status == 400);
  }
  auto retry = parser.parse_retry(body);
  if (auto* ids = std::get_if<std::vector<taskorch::job_id>>(&retry)) {
    check_accepted(*ids, [](const taskorch::job_id& id) { return id; });
  }
  auto status = parser.parse_status(body);
  if (auto* query = std::get_if<taskorch::http::status_query>(&status)) {
    check_accepted(query->ids, [](const taskorch::job_id& id) { return id; });
    require(query->cur_page >= 1 && query->per_page <= 100);
  }
  auto starting = parser.parse_starting(body);
  if (auto* items = std::get_if<std::vector<taskorch::start_item>>(&starting)) {
    check_accepted(*items, [](const taskorch::start_item& i) { return i.id; });
    for (const auto& item : *items) {
      require(!item.start_time || item.start_time->time_since_epoch().count() >= 0);
    }
  }
  auto remove = parser.parse_delete(body);
  if (auto* items = std::get_if<std::vector<taskorch::delete_item>>(&remove)) {
    check_accepted(*items, [](const taskorch::delete_item& i) { return i.id; });
    for (const auto& item : *items) require(taskorch::is_valid(item.type));
  }
  auto report = parser.parse_report(body);
  if (auto* items = std::get_if<std::vector<taskorch::report_item>>(&report)) {
    check_accepted(*items, [](const taskorch::report_item& i) { return i.id; });
    for (const auto& item : *items) {
      require(item.event || item.figures);
      require(!item.event || taskorch::is_worker_event(*item.event));
      if (item.figures) {
        require(item.figures->progress <= 100);
        require(item.figures->incre_trans_delay.count() >= 0 &&
                item.figures->incre_trans_delay.count() % 1000 == 0 &&
                item.figures->incre_trans_delay <= std::chrono::seconds(2147483647));
      }
    }
  } else {
    require(std::get<taskorch::http::request_error>(report).status == 400);
  }
  auto list = parser.parse_list(body);
  if (auto* query = std::get_if<taskorch::http::list_query>(&list)) {
    require(!query->status || taskorch::is_valid(*query->status));
    require(!query->kind || taskorch::is_valid(*query->kind));
    require(query->ids.empty() || query->name.empty());
    check_ids(query->ids, [](const taskorch::job_id& id) { return id; });
    require(query->ids.size() <= 100 && query->name.size() <= 255 && query->per_page <= 100);
  } else {
    require(std::get<taskorch::http::request_error>(list).status == 400);
  }
  return 0;
}
