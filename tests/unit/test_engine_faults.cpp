// What the engine does when it is misused or its environment fails: stop() or the destructor
// called on one of its own threads, a completion handler that throws there, and threads that
// cannot be started. Each fails loudly and leaves nothing hanging.
#include "engine_test_support.hpp"
#include <taskorch/engine.hpp>

#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace taskorch::test {
namespace {

using S = task_state;

TEST(EngineFaults, StopOnAnEngineThreadThrowsWouldDeadlock) {
  engine eng(small_options());
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  std::promise<error_code> caught;
  // A handler without an executor runs on an engine thread.
  eng.async_pause(kProject, {{t.id, pause_mode::all}}, [&](error_code, batch_result) {
    try {
      eng.stop();
      caught.set_value({});
    } catch (const boost::system::system_error& e) {
      caught.set_value(e.code());
    }
  });
  EXPECT_EQ(caught.get_future().get(), errc::would_deadlock);
  // The engine was not stopped by the refused call, and stops normally from here.
  EXPECT_EQ(state_of(eng, t.id), S::paused);
  eng.stop();
}

TEST(EngineFaultsDeathTest, DestroyingTheEngineOnItsOwnThreadTerminates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto eng = std::make_unique<engine>(small_options());
        std::promise<void> never;
        eng->async_count([&](error_code, state_counts) { eng.reset(); });
        never.get_future().wait_for(std::chrono::seconds(20));
      },
      "an engine was destroyed on one of its own threads");
}

TEST(EngineFaults, AHandlerThatThrowsGoesToTheHookAndTheEngineKeepsServing) {
  std::mutex mutex;
  std::vector<std::string> caught;
  std::promise<void> first;
  engine_options options = small_options();
  options.threads = 1;
  options.unhandled_exception = [&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::lock_guard lock(mutex);
      caught.emplace_back(x.what());
    }
    first.set_value();
  };
  engine eng(options);
  const task_spec t = make_task(S::incremental_transfer);
  register_ok(eng, {t});
  eng.async_pause(kProject, {{t.id, pause_mode::all}}, [](error_code ec, batch_result r) {
    if (!ec && r.size() == 1 && r[0].ok()) throw std::runtime_error("handler failed");
  });
  first.get_future().wait();
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(caught.size(), 1U);
    EXPECT_EQ(caught[0], "handler failed");
  }
  // The one engine thread still serves, and stop() does not wait for the failed operation.
  EXPECT_EQ(state_of(eng, t.id), S::paused);
  expect_all_ok(eng.resume(kProject, {t.id}), {t.id});
  std::promise<void> counted;
  eng.async_count([&](error_code, state_counts) { counted.set_value(); });
  counted.get_future().wait();
  eng.stop();
}

TEST(EngineFaults, ThreadsThatCannotStartFailTheConstructorCleanly) {
  // A real limit: a child process, as an unprivileged user, may own only a few threads. The
  // constructor must throw std::system_error and join the threads it did start, rather than
  // let a joinable std::thread terminate the program.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to a user with a thread limit";
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    const rlimit limit{3, 3};  // this process and two more threads of user nobody
    if (setrlimit(RLIMIT_NPROC, &limit) != 0) _exit(4);
    try {
      engine eng({.threads = 8, .shards = 8});
      _exit(5);  // every thread started: the limit did not hold
    } catch (const std::system_error&) {
      _exit(0);
    } catch (...) {
      _exit(6);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace taskorch::test
