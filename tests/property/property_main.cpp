// The main of the property tests: GoogleTest plus rapidcheck defaults for this suite.
//
// Unless RC_PARAMS says otherwise, every property runs max_success=334 sequences of at most
// 100 commands (max_size=99): three properties, 1,002 sequences per run. RC_PARAMS may
// override either key, and replays a failure: see test_lifecycle_model.cpp.
//
// At exit, the process prints how often each (state, command) pair ran, and fails when the
// lifecycle property passed its full default count without hitting every pair.

#include "property_support.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

constexpr int default_sequences = 334;

/// Prints the coverage table and checks it once every test of the process has run.
class coverage_report : public ::testing::Environment {
 public:
  void TearDown() override {
    auto& table = taskorch::property::coverage();
    if (table.commands == 0) return;
    std::cout << table.report() << std::flush;
    if (table.require_full && ::testing::UnitTest::GetInstance()->failed_test_count() == 0 &&
        rc::detail::configuration().testParams.maxSuccess >= default_sequences) {
      EXPECT_EQ(table.missing(), 0U) << "some (state, command) pairs were never exercised";
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string params;
  if (const char* given = std::getenv("RC_PARAMS")) params = given;
  if (params.find("max_success") == std::string::npos) {
    params += " max_success=" + std::to_string(default_sequences);
  }
  if (params.find("max_size") == std::string::npos) params += " max_size=99";
  setenv("RC_PARAMS", params.c_str(), 1);  // read by rapidcheck on first use, below

  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new coverage_report);  // gtest takes ownership
  return RUN_ALL_TESTS();
}
