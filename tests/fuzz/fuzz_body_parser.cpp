// libFuzzer target: the JSON bodies of the three batch endpoints. Whatever the bytes, the
// parser returns a request or an error, and an accepted request respects the limits.
#include <taskorch/http/body_parser.hpp>

#include <boost/unordered/unordered_flat_set.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

constexpr std::size_t max_jobs = 64;

void require(bool condition) {
  if (!condition) std::abort();
}

template <class Items, class IdOf>
void check_accepted(const Items& items, IdOf id_of) {
  require(!items.empty() && items.size() <= max_jobs);
  boost::unordered_flat_set<taskorch::job_id, taskorch::job_id_hash> seen;
  for (const auto& item : items) {
    const taskorch::job_id id = id_of(item);
    require(taskorch::job_id::parse(id.to_string()) == id);
    require(seen.insert(id).second);
  }
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
  return 0;
}
