// event_feed, driven directly: the parts of operations publish out of order, the journal
// stores them late, changes are undone; a reader sees a gapless prefix of stored events.

#include "event_feed.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace taskorch::detail {
namespace {

const project_id kProject = *project_id::parse("054ba152d480d55b2f5dc0069e7ddef0");
const project_id kOther = *project_id::parse("0123456789abcdef0123456789abcdef");

feed_event event_at(std::uint64_t position, const project_id& project = kProject) {
  feed_event e;
  e.position = position;
  e.id = job_id::mint();
  e.project = project;
  e.to = task_state::paused;
  e.cause = task_event::pause;
  e.mode = pause_mode::target;
  e.version = 1;
  return e;
}

std::vector<std::uint64_t> positions(const feed_page& page) {
  std::vector<std::uint64_t> out;
  for (const feed_event& e : page.events) out.push_back(e.position);
  return out;
}

TEST(EventFeed, AReaderStopsAtThePositionNotYetPublished) {
  event_feed feed(16, 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(feed.take_positions(1), std::uint64_t(i + 1));
  const std::vector<feed_event> later{event_at(2), event_at(3)};
  feed.publish(later, 0);  // position 1's part has not published yet
  EXPECT_TRUE(feed.read(kProject, 0, 10).events.empty());
  EXPECT_EQ(feed.readable(), 0U);
  const std::vector<feed_event> first{event_at(1)};
  feed.publish(first, 0);
  EXPECT_EQ(positions(feed.read(kProject, 0, 10)), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(EventFeed, AnEventIsReadableOnlyOnceItsChangeIsStored) {
  std::atomic<std::uint64_t> stored{0};
  event_feed feed(16, 1);
  feed.set_stored_lsn([&stored] { return stored.load(); });
  (void)feed.take_positions(1);
  (void)feed.take_positions(1);
  const std::vector<feed_event> a{event_at(1)};
  const std::vector<feed_event> b{event_at(2)};
  feed.publish(a, 7);
  feed.publish(b, 5);
  EXPECT_TRUE(feed.read(kProject, 0, 10).events.empty());
  stored = 5;  // b is stored, but a, before it, is not: nothing yet
  EXPECT_TRUE(feed.read(kProject, 0, 10).events.empty());
  stored = 7;
  EXPECT_EQ(positions(feed.read(kProject, 0, 10)), (std::vector<std::uint64_t>{1, 2}));
}

TEST(EventFeed, VoidPositionsAreSkipped) {
  event_feed feed(16, 1);
  for (int i = 0; i < 3; ++i) (void)feed.take_positions(1);
  feed_event undone;
  undone.position = 2;  // version 0: a change not made
  const std::vector<feed_event> events{event_at(1), undone, event_at(3)};
  feed.publish(events, 0);
  EXPECT_EQ(positions(feed.read(kProject, 0, 10)), (std::vector<std::uint64_t>{1, 3}));
  const std::vector<feed_event> voided{event_at(4)};
  (void)feed.take_positions(1);
  feed.publish_void(voided);
  // A reader is never moved past void positions with no event after them: they are not
  // stored, and a restart may give them out again.
  const feed_page page = feed.read(kProject, 3, 10);
  EXPECT_TRUE(page.events.empty());
  EXPECT_EQ(page.next, 3U);
  EXPECT_EQ(feed.readable(), 3U);
  (void)feed.take_positions(1);
  const std::vector<feed_event> after{event_at(5)};
  feed.publish(after, 0);
  EXPECT_EQ(positions(feed.read(kProject, 3, 10)), (std::vector<std::uint64_t>{5}));
}

TEST(EventFeed, ACheckpointKeepsEventsNotYetStored) {
  std::atomic<std::uint64_t> stored{0};
  event_feed feed(16, 1);
  feed.set_stored_lsn([&stored] { return stored.load(); });
  (void)feed.take_positions(1);
  const std::vector<feed_event> pending{event_at(1)};
  feed.publish(pending, 3);
  EXPECT_TRUE(feed.read(kProject, 0, 10).events.empty());
  ASSERT_EQ(feed.retained().size(), 1U);  // the checkpoint covers lsn 3: it must hold it
}

TEST(EventFeed, OtherProjectsEventsAreSkippedButPassed) {
  event_feed feed(16, 1);
  for (int i = 0; i < 4; ++i) (void)feed.take_positions(1);
  const std::vector<feed_event> events{event_at(1, kOther), event_at(2), event_at(3, kOther),
                                       event_at(4, kOther)};
  feed.publish(events, 0);
  const feed_page page = feed.read(kProject, 0, 10);
  EXPECT_EQ(positions(page), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(page.next, 4U);
}

TEST(EventFeed, TheRingDropsTheOldestAndSaysSo) {
  event_feed feed(4, 1);
  std::vector<feed_event> events;
  for (std::uint64_t p = 1; p <= 10; ++p) {
    (void)feed.take_positions(1);
    events.push_back(event_at(p));
  }
  feed.publish(events, 0);
  const feed_page gone = feed.read(kProject, 5, 10);
  EXPECT_TRUE(gone.gone);
  EXPECT_EQ(gone.oldest, 6U);
  EXPECT_EQ(positions(feed.read(kProject, 6, 10)), (std::vector<std::uint64_t>{7, 8, 9, 10}));
  EXPECT_EQ(feed.retained().size(), 4U);
}

TEST(EventFeed, AnEventPublishedAfterItsPositionWasDroppedIsDiscarded) {
  event_feed feed(4, 1);
  for (int i = 0; i < 6; ++i) (void)feed.take_positions(1);
  const std::vector<feed_event> late{event_at(1)};
  const std::vector<feed_event> newer{event_at(2), event_at(3), event_at(4), event_at(5),
                                      event_at(6)};
  feed.publish(newer, 0);  // position 6 pushes 1 and 2 out of the ring
  feed.publish(late, 0);
  const feed_page page = feed.read(kProject, 2, 10);
  EXPECT_FALSE(page.gone);
  EXPECT_EQ(positions(page), (std::vector<std::uint64_t>{3, 4, 5, 6}));
  EXPECT_TRUE(feed.read(kProject, 1, 10).gone);
  EXPECT_FALSE(feed.read(kProject, 0, 10).gone);  // 0: from the oldest kept
}

TEST(EventFeed, RestoredEventsAreReadableAndPositionsGoOnAfterThem) {
  event_feed feed(8, 1);
  const std::vector<feed_event> recovered{event_at(3), event_at(5), event_at(6)};
  feed.restore(recovered);
  const feed_page gone = feed.read(kProject, 1, 10);
  EXPECT_TRUE(gone.gone);
  EXPECT_EQ(gone.oldest, 2U);
  EXPECT_EQ(positions(feed.read(kProject, 0, 10)), (std::vector<std::uint64_t>{3, 5, 6}));
  EXPECT_EQ(positions(feed.read(kProject, 2, 10)), (std::vector<std::uint64_t>{3, 5, 6}));
  EXPECT_EQ(feed.take_positions(1), 7U);
  EXPECT_EQ(feed.readable(), 6U);
}

TEST(EventFeed, ARestoreLongerThanTheRingKeepsTheNewest) {
  event_feed feed(4, 1);
  std::vector<feed_event> recovered;
  for (std::uint64_t p = 1; p <= 9; ++p) recovered.push_back(event_at(p));
  feed.restore(recovered);
  EXPECT_EQ(positions(feed.read(kProject, 5, 10)), (std::vector<std::uint64_t>{6, 7, 8, 9}));
  EXPECT_TRUE(feed.read(kProject, 4, 10).gone);
}

TEST(EventFeed, AReadExaminesABoundedStretch) {
  const std::size_t n = event_feed::scan_limit + 100;
  event_feed feed(2 * n, 1);
  std::vector<feed_event> events;
  for (std::uint64_t p = 1; p <= n; ++p) {
    (void)feed.take_positions(1);
    events.push_back(event_at(p, kOther));
  }
  feed.publish(events, 0);
  const feed_page page = feed.read(kProject, 0, 10);
  EXPECT_TRUE(page.events.empty());
  EXPECT_EQ(page.next, event_feed::scan_limit);
  EXPECT_EQ(feed.read(kProject, page.next, 10).next, n);
}

}  // namespace
}  // namespace taskorch::detail
