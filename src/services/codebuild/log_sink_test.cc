#include "services/codebuild/log_sink.h"

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>

#include "core/store/test_support.h"

namespace gantry::services::codebuild {
namespace {

struct Sent {
  std::mutex mu;
  std::vector<std::string> messages;
  std::vector<int64_t> timestamps;
  std::vector<size_t> batch_sizes;
  int calls = 0;
};

BuildLogSink::SendFn Recorder(Sent& sent) {
  return [&sent](const aws::Document& events) {
    std::lock_guard lock(sent.mu);
    ++sent.calls;
    sent.batch_sizes.push_back(events.size());
    for (const aws::Document& e : events) {
      sent.messages.push_back(e["message"]);
      sent.timestamps.push_back(e["timestamp"]);
    }
    return Status::Ok();
  };
}

TEST(BuildLogSinkTest, SendsLinesInOrderAndInBatches) {
  FakeClock clock;
  Sent sent;
  BuildLogSink sink(&clock, Recorder(sent), "");
  sink.Start();
  constexpr int kLines = 15000;
  for (int i = 0; i < kLines; ++i) {
    sink.Append("line " + std::to_string(i));
    if (i == 1200) clock.Advance(std::chrono::seconds(1));
  }
  sink.Close();
  ASSERT_EQ(sent.messages.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) ASSERT_EQ(sent.messages[i], "line " + std::to_string(i));
  // Never one call per line, and never more than PutLogEvents takes (10,000 events).
  EXPECT_LT(sent.calls, kLines / 100);
  EXPECT_GE(sent.calls, 2);
  for (size_t size : sent.batch_sizes) EXPECT_LE(size, 10000u);
  EXPECT_TRUE(std::is_sorted(sent.timestamps.begin(), sent.timestamps.end()));
  EXPECT_EQ(sent.timestamps.back() - sent.timestamps.front(), 1000);
}

TEST(BuildLogSinkTest, EmptyLinesAreSentAsABlankTheServiceAccepts) {
  FakeClock clock;
  Sent sent;
  store::testing::ScratchDirectory dir;
  // As CloudWatch Logs: a batch with an empty message is refused whole.
  BuildLogSink sink(
      &clock,
      [&sent](const aws::Document& events) {
        for (const aws::Document& e : events) {
          if (e["message"].get<std::string>().empty()) {
            return Status::InvalidArgument("1 validation error detected: Value '' at 'logEvents.1.member.message' "
                                           "failed to satisfy constraint: Member must have length greater than or "
                                           "equal to 1",
                                           "InvalidParameterException");
          }
        }
        return Recorder(sent)(events);
      },
      dir.File("log"));
  sink.Start();
  sink.Append("before");
  sink.Append("");
  sink.Append("after");
  sink.Close();
  EXPECT_EQ(sent.messages, (std::vector<std::string>{"before", " ", "after"}));
  std::ifstream file(dir.File("log"));
  std::string log((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(log, "before\n\nafter\n");
}

TEST(BuildLogSinkTest, SplitsLinesLongerThanAnEventAndKeepsTheWholeLog) {
  FakeClock clock;
  Sent sent;
  store::testing::ScratchDirectory dir;
  BuildLogSink sink(&clock, Recorder(sent), dir.File("log"));
  sink.Start();
  std::string big(300 * 1024, 'x');
  sink.Append(big);
  sink.Append("after");
  sink.Close();
  ASSERT_EQ(sent.messages.size(), 3u);
  EXPECT_EQ(sent.messages[0].size() + sent.messages[1].size(), big.size());
  EXPECT_LE(sent.messages[0].size(), 256u * 1024 - 26);
  EXPECT_EQ(sent.messages[2], "after");
  std::ifstream in(dir.File("log"));
  std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(whole, big + "\nafter\n");
}

TEST(BuildLogSinkTest, OutputBeyondWhatMayWaitIsDroppedWithOneLineSayingSo) {
  // Nothing sends while the lines come (no flusher): 8 MiB wait, the rest is dropped and counted
  // in one line; the file keeps everything.
  FakeClock clock;
  Sent sent;
  store::testing::ScratchDirectory dir;
  BuildLogSink sink(&clock, Recorder(sent), dir.File("log"));
  const std::string line(1000, 'x');
  constexpr int kLines = 10000;
  for (int i = 0; i < kLines; ++i) sink.Append(line);
  sink.Close();
  const size_t kept = (8u << 20) / (line.size() + 26);  // CloudWatch Logs counts 26 bytes per event
  ASSERT_EQ(sent.messages.size(), kept + 1);
  EXPECT_EQ(sent.messages[kept - 1], line);
  EXPECT_EQ(sent.messages[kept], "log output dropped: " + std::to_string(kLines - kept) +
                                     " lines (more than 8 MiB of output was waiting for CloudWatch Logs)");
  std::ifstream in(dir.File("log"));
  std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(whole.size(), kLines * (line.size() + 1));
}

TEST(BuildLogSinkTest, WithoutCloudWatchOnlyTheFileIsWritten) {
  FakeClock clock;
  store::testing::ScratchDirectory dir;
  BuildLogSink sink(&clock, nullptr, dir.File("log"));
  sink.Start();
  sink.Append("one");
  sink.Close();
  sink.Append("after close is dropped");
  std::ifstream in(dir.File("log"));
  std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(whole, "one\n");
  EXPECT_TRUE(sink.first_error().ok());
}

}  // namespace
}  // namespace gantry::services::codebuild
