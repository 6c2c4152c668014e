#pragma once
// job_list: what `POST /v3/{project_id}/jobs` shows of a project: its standalone tasks and its
// dual-active parents (each with its two children inside, never on their own), filtered as
// the query asks and cut to the query's page, in the order of their ids (stable).
//
//   job_listing l = select_jobs(eng.list(project), query);
//   write_job_list(out, l.page, l.total);

#include <taskorch/http/body_parser.hpp>
#include <taskorch/task_snapshot.hpp>

#include <cstddef>
#include <vector>

namespace taskorch::http {

/// One task of a list, with its children (forward, then backward) when it is a dual-active
/// parent. `task` points into the snapshots the listing was selected from.
struct listed_task {
  const task_snapshot* task = nullptr;
  std::vector<task_snapshot> children;
};

/// The page of tasks to show, and how many matched in all.
struct job_listing {
  std::vector<listed_task> page;
  std::size_t total = 0;
};

/// Selects from `tasks` (a project's snapshots sorted by id, children included, as
/// engine::list() returns them) the standalone tasks and parents that match every filter of
/// `query` (status: a parent's aggregate; db_use_type; ids, or a name that contains
/// `query.name`), then the page `query` asks for.
job_listing select_jobs(const std::vector<task_snapshot>& tasks, const list_query& query);

}  // namespace taskorch::http
