#include <taskorch/error.hpp>

#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskorch {
namespace {

const std::vector<errc>& all_errcs() {
  static const std::vector<errc> codes{
      errc::task_not_found,        errc::task_deleted,         errc::invalid_state,
      errc::parent_task_forbidden, errc::child_task_forbidden, errc::empty_batch,
      errc::batch_too_large,       errc::duplicate_job_id,     errc::task_exists,
      errc::invalid_task_spec,     errc::not_a_worker_event,   errc::would_deadlock,
      errc::invalid_item};
  return codes;
}

TEST(Error, CategoryIsNamedTaskorch) {
  EXPECT_STREQ(error_category().name(), "taskorch");
  EXPECT_EQ(&error_category(), &error_category());
}

TEST(Error, CodesStartAtOneAndAreDistinct) {
  EXPECT_EQ(static_cast<int>(errc::task_not_found), 1);
  std::set<int> values;
  for (errc e : all_errcs()) {
    EXPECT_NE(static_cast<int>(e), 0);
    values.insert(static_cast<int>(e));
  }
  EXPECT_EQ(values.size(), all_errcs().size());
}

TEST(Error, ConvertsToErrorCodeOfTheCategory) {
  for (errc e : all_errcs()) {
    error_code ec = e;
    EXPECT_TRUE(ec.failed());
    EXPECT_EQ(ec.category(), error_category());
    EXPECT_EQ(ec.value(), static_cast<int>(e));
    EXPECT_EQ(ec, make_error_code(e));
    EXPECT_TRUE(ec == e);
  }
  error_code ec = errc::task_deleted;
  EXPECT_FALSE(ec == errc::task_not_found);
}

TEST(Error, MessagesComeFromTheTable) {
  for (const errc_info& row : errc_table) {
    EXPECT_EQ(make_error_code(row.code).message(), row.message) << row.name;
    ASSERT_EQ(find_errc(row.code), &row);
  }
  EXPECT_EQ(find_errc(static_cast<errc>(0)), nullptr);
  EXPECT_EQ(find_errc(static_cast<errc>(errc_table.size() + 1)), nullptr);
}

TEST(Error, MessagesSpeakOfTasksNotOfTheWire) {
  for (const errc_info& row : errc_table) {
    const std::string text = make_error_code(row.code).message();
    EXPECT_EQ(text.find("DRS"), std::string::npos) << row.name;
    EXPECT_EQ(text.find("parameter"), std::string::npos) << row.name;
    EXPECT_EQ(text.find("API"), std::string::npos) << row.name;
  }
  EXPECT_EQ(make_error_code(errc::task_not_found).message(), "no task with this id in the project");
}

TEST(Error, EveryCodeHasItsOwnMessage) {
  const std::string unknown = error_code(999, error_category()).message();
  EXPECT_FALSE(unknown.empty());
  std::set<std::string> seen;
  for (errc e : all_errcs()) {
    const std::string text = make_error_code(e).message();
    EXPECT_FALSE(text.empty()) << static_cast<int>(e);
    EXPECT_NE(text, unknown) << static_cast<int>(e);
    seen.insert(text);
  }
  EXPECT_EQ(seen.size(), all_errcs().size());
}

TEST(Error, SystemErrorCarriesTheCode) {
  try {
    throw boost::system::system_error(errc::task_deleted);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::task_deleted);
    EXPECT_NE(std::string(e.what()).find("deleted"), std::string::npos);
  }
}

}  // namespace
}  // namespace taskorch
