// The api over an engine_directory (the scale-out mode's node): each project's requests go to
// the engine serving it; a project no engine here serves is refused 503 TASKORCH.0503 with
// Retry-After, at check() and again when the body is handled (the partition may have moved
// meanwhile), changing nothing; one another server serves is sent there (once; an event stream
// redirected); /metrics adds every engine up.

#include <taskorch/engine.hpp>
#include <taskorch/http/api.hpp>
#include <taskorch/http/engine_directory.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

namespace taskorch::http {
namespace {

const project_id here = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
const project_id also_here = *project_id::parse("6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b");
const project_id elsewhere = *project_id::parse("1b2c3d4e5f60718293a4b5c6d7e8f901");
const project_id nowhere = *project_id::parse("9f8e7d6c5b4a39281706f5e4d3c2b1a0");

/// Projects to engines, changed by the test.
class test_directory final : public engine_directory {
 public:
  void serve(const project_id& p, std::shared_ptr<engine> eng) {
    std::lock_guard lock(mutex_);
    engines_[p] = std::move(eng);
  }
  void drop(const project_id& p) {
    std::lock_guard lock(mutex_);
    engines_.erase(p);
  }
  project_home find(const project_id& p) const override {
    std::lock_guard lock(mutex_);
    auto it = engines_.find(p);
    if (it == engines_.end()) return {nullptr, p == elsewhere ? "127.0.0.1:18082" : ""};
    return {it->second, {}};
  }
  std::vector<std::shared_ptr<engine>> engines() const override {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<engine>> out;
    for (const auto& [p, e] : engines_) out.push_back(e);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<project_id, std::shared_ptr<engine>> engines_;
};

std::size_t count_of(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

task_spec running(const project_id& project) {
  return {.id = job_id::mint(), .project = project, .state = task_state::incremental_transfer};
}

class Directory : public ::testing::Test {
 protected:
  Directory() {
    directory_.serve(here, first_);
    directory_.serve(also_here, second_);
  }

  static api_callers callers() {
    api_callers c;
    c.tokens.add("a", here);
    c.tokens.add("b", also_here);
    c.tokens.add("c", elsewhere);
    c.tokens.add("d", nowhere);
    return c;
  }

  std::variant<accepted_request, response> check(const project_id& project, std::string_view token,
                                                 bool forwarded = false,
                                                 std::string_view route = "jobs/batch-pause-task",
                                                 std::string_view method = "POST") {
    target_ = "/v3/" + project.to_string() + "/" + std::string(route);
    request_head head;
    head.method = method;
    head.target = target_;
    head.token = token;
    head.content_type = "application/json";
    head.forwarded = forwarded;
    return service_.check(head);
  }

  response handle(const accepted_request& r, std::string body) {
    return service_.async_handle(r, std::move(body), boost::asio::use_future).get();
  }

  static std::string pause_body(const job_id& id) {
    return R"({"jobs":[{"job_id":")" + id.to_string() + R"(","pause_mode":"target"}]})";
  }

  std::shared_ptr<engine> first_ = std::make_shared<engine>(engine_options{.threads = 1});
  std::shared_ptr<engine> second_ = std::make_shared<engine>(engine_options{.threads = 1});
  test_directory directory_;
  api service_{directory_, callers()};
  std::string target_;
};

TEST_F(Directory, EachProjectGoesToItsEngine) {
  const task_spec a = running(here);
  const task_spec b = running(also_here);
  ASSERT_FALSE(first_->register_tasks({a}).at(0).error);
  ASSERT_FALSE(second_->register_tasks({b}).at(0).error);
  auto checked = check(also_here, "b");
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
  const response r = handle(std::get<accepted_request>(checked), pause_body(b.id));
  EXPECT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(second_->get(also_here, b.id).state, task_state::paused);
  EXPECT_EQ(first_->get(here, a.id).state, task_state::incremental_transfer);
}

TEST_F(Directory, AProjectNoServerServesIsRefusedWithRetryAfter) {
  auto checked = check(nowhere, "d");
  ASSERT_TRUE(std::holds_alternative<response>(checked));
  const response& r = std::get<response>(checked);
  EXPECT_EQ(r.status, 503U);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(1));
  EXPECT_EQ(r.body,
            R"({"error_code":"TASKORCH.0503","error_msg":"No server serves this project at the )"
            R"(moment (its partition is changing owner); try again shortly."})");
}

TEST_F(Directory, AProjectAnotherServerServesIsSentThereOnce) {
  auto checked = check(elsewhere, "c");
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
  EXPECT_EQ(std::get<accepted_request>(checked).forward_to, "127.0.0.1:18082");
  // Already forwarded once: refused, never sent on again.
  auto again = check(elsewhere, "c", true);
  ASSERT_TRUE(std::holds_alternative<response>(again));
  EXPECT_EQ(std::get<response>(again).status, 503U);
  // Its event stream is redirected there.
  auto stream = check(elsewhere, "c", false, "events?since=7", "GET");
  ASSERT_TRUE(std::holds_alternative<response>(stream));
  EXPECT_EQ(std::get<response>(stream).status, 307U);
  EXPECT_EQ(std::get<response>(stream).location,
            "http://127.0.0.1:18082/v3/1b2c3d4e5f60718293a4b5c6d7e8f901/events?since=7");
  // The caller is checked first, as anywhere: a wrong token is refused here.
  auto stranger = check(elsewhere, "a");
  ASSERT_TRUE(std::holds_alternative<response>(stranger));
  EXPECT_EQ(std::get<response>(stranger).status, 403U);
}

TEST_F(Directory, APartitionLostAfterTheCheckIsRefusedWhenTheBodyIsHandled) {
  const task_spec a = running(here);
  ASSERT_FALSE(first_->register_tasks({a}).at(0).error);
  auto checked = check(here, "a");
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
  directory_.drop(here);  // the partition moved while the body was read
  const response r = handle(std::get<accepted_request>(checked), pause_body(a.id));
  EXPECT_EQ(r.status, 503U);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(1));
  EXPECT_EQ(first_->get(here, a.id).state, task_state::incremental_transfer);
}

TEST_F(Directory, AnEngineStoppedBeforeTheBatchRanAnswersNotRunWithRetryAfter) {
  const task_spec a = running(here);
  ASSERT_FALSE(first_->register_tasks({a}).at(0).error);
  auto checked = check(here, "a");
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
  first_->stop();  // the partition is let go while the body is read
  const response r = handle(std::get<accepted_request>(checked), pause_body(a.id));
  EXPECT_EQ(r.status, 503U);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(1));
  EXPECT_EQ(r.body,
            R"({"error_code":"TASKORCH.0503","error_msg":"Not run: the server stopped serving )"
            R"(this project before it got to it (the project's partition moved to another node, )"
            R"(or the server is stopping). Nothing changed; send it again."})");
}

TEST_F(Directory, ABatchCutShortByAStopIsAnsweredItemByItem) {
  // A stop racing with a large batch: the items run before it succeed and are kept, the
  // others are answered "not run" one by one, and the answer says which is which.
  constexpr std::size_t items = 4000;
  std::size_t cut_short = 0;
  for (int attempt = 0; attempt < 40 && cut_short < 3; ++attempt) {
    auto eng = std::make_shared<engine>(engine_options{.threads = 2, .shards = 8});
    directory_.serve(here, eng);
    std::vector<registration> specs;
    std::string body = R"({"jobs":[)";
    for (std::size_t i = 0; i < items; ++i) {
      const task_spec spec = running(here);
      specs.emplace_back(spec);
      body += (i ? "," : "") + std::string(R"({"job_id":")") + spec.id.to_string() +
              R"(","pause_mode":"target"})";
    }
    body += "]}";
    ASSERT_EQ(eng->register_tasks(specs).size(), items);
    auto checked = check(here, "a");
    ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
    auto answer = service_.async_handle(std::get<accepted_request>(checked), std::move(body),
                                        boost::asio::use_future);
    // Stop as soon as the batch has begun: once one of its tasks is paused.
    const job_id first = std::get<task_spec>(specs.front()).id;
    while (answer.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
           eng->get(here, first).state != task_state::paused) {
    }
    eng->stop();
    const response r = answer.get();
    if (r.status == 503U) continue;  // stopped before the batch was taken: nothing ran
    ASSERT_EQ(r.status, 200U) << r.body.substr(0, 300);
    const std::size_t not_run = count_of(r.body, R"("error_code":"TASKORCH.0503")");
    const std::size_t succeeded = count_of(r.body, R"("status":"success")");
    EXPECT_EQ(not_run + succeeded, items);
    if (not_run > 0 && succeeded > 0) ++cut_short;
  }
  std::printf("[ cut short ] %zu batches answered item by item with both outcomes\n", cut_short);
  EXPECT_GT(cut_short, 0U) << "no stop landed inside a batch in 40 attempts";
}

TEST_F(Directory, MetricsAddEveryEngineUp) {
  ASSERT_FALSE(first_->register_tasks({running(here), running(here)}).at(0).error);
  ASSERT_FALSE(second_->register_tasks({running(also_here)}).at(0).error);
  request_head head;
  head.method = "GET";
  head.target = "/metrics";
  auto checked = service_.check(head);
  ASSERT_TRUE(std::holds_alternative<accepted_request>(checked));
  const response r = handle(std::get<accepted_request>(checked), "");
  EXPECT_NE(r.body.find("taskorch_tasks{status=\"INCRE_TRANSFER_STARTED\"} 3"), std::string::npos)
      << r.body;
}

}  // namespace
}  // namespace taskorch::http
