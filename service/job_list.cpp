#include <taskorch/http/job_list.hpp>
#include <taskorch/http/response_writer.hpp>

#include <algorithm>

namespace taskorch::http {

namespace {

const task_snapshot* find_snapshot(const std::vector<task_snapshot>& tasks, const job_id& id) {
  auto it =
      std::lower_bound(tasks.begin(), tasks.end(), id,
                       [](const task_snapshot& t, const job_id& wanted) { return t.id < wanted; });
  return it != tasks.end() && it->id == id ? &*it : nullptr;
}

bool matches(const task_snapshot& task, const list_query& query) {
  if (query.status && task.state != *query.status) return false;
  if (query.kind && task.kind != *query.kind) return false;
  if (!query.ids.empty() &&
      std::find(query.ids.begin(), query.ids.end(), task.id) == query.ids.end()) {
    return false;
  }
  return query.name.empty() || task.name.find(query.name) != std::string::npos;
}

}  // namespace

job_listing select_jobs(const std::vector<task_snapshot>& tasks, const list_query& query) {
  std::vector<const task_snapshot*> matched;
  for (const task_snapshot& task : tasks) {
    if (task.parent) continue;  // a child is shown inside its parent
    if (matches(task, query)) matched.push_back(&task);
  }
  job_listing listing;
  listing.total = matched.size();
  const auto [first, last] = page_of(matched.size(), query.cur_page, query.per_page);
  listing.page.reserve(last - first);
  for (std::size_t i = first; i < last; ++i) {
    listed_task shown{matched[i], {}};
    if (matched[i]->role == task_role::parent) {
      for (const auto& child : {matched[i]->forward_child, matched[i]->backward_child}) {
        if (const task_snapshot* c = child ? find_snapshot(tasks, *child) : nullptr) {
          shown.children.push_back(*c);
        }
      }
    }
    listing.page.push_back(std::move(shown));
  }
  return listing;
}

}  // namespace taskorch::http
