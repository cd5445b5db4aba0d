// FileWatch (drivers/file_watch.h): writes to the watched names of a directory are reported on
// the loop, promptly and coalesced; other names, a stopped watch and a missing directory report
// nothing.

#include "drivers/file_watch.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <uv.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace arvel::drivers {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void Nothing(uv_timer_t*) {}

class FileWatchTest : public ::testing::Test {
 protected:
  FileWatchTest() {
    std::string pattern = (fs::temp_directory_path() / "arvel-file-watch-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    uv_loop_init(&loop_);
  }
  ~FileWatchTest() override {
    watch_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // the handles finish closing
    uv_loop_close(&loop_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void MakeWatch(int64_t interval_ms) {
    watch_ = std::make_unique<FileWatch>(&loop_, interval_ms, [this] { ++reports_; });
  }

  // Appends a line to dir_/name (one write(2), as a WAL commit is).
  void Append(const std::string& name) { std::ofstream(dir_ + "/" + name, std::ios::app) << "x\n"; }

  // Runs the loop for `duration`, or until `done()` (when given); returns whether it is done.
  bool Run(milliseconds duration, const std::function<bool()>& done = nullptr) {
    auto finished = [&] { return done && done(); };
    uv_timer_t tick;  // wakes the loop now and then, so the deadline is seen
    uv_timer_init(&loop_, &tick);
    uv_timer_start(&tick, Nothing, 1, 1);
    const auto deadline = Clock::now() + duration;
    while (!finished() && Clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return finished();
  }

  std::string dir_;
  uv_loop_t loop_{};
  std::unique_ptr<FileWatch> watch_;
  int reports_ = 0;
};

TEST_F(FileWatchTest, ReportsWritesOfWatchedNamesOnly) {
  MakeWatch(5);
  ASSERT_TRUE(watch_->Start(dir_, {"db", "db-wal"}).ok());
  EXPECT_TRUE(watch_->watching());
  Append("other");
  Append("db-shm");
  Run(milliseconds(50));
  EXPECT_EQ(reports_, 0);

  const auto start = Clock::now();
  Append("db-wal");
  ASSERT_TRUE(Run(milliseconds(2000), [&] { return reports_ >= 1; }));
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  Run(milliseconds(50));
  EXPECT_EQ(reports_, 2);  // at once, and the second look an interval later
  EXPECT_EQ(watch_->reports(), 2u);

  Append("db");  // a file that comes into being counts too
  ASSERT_TRUE(Run(milliseconds(2000), [&] { return reports_ >= 3; }));
}

TEST_F(FileWatchTest, CoalescesABurstToOneReportPerInterval) {
  constexpr int64_t kIntervalMs = 50;
  MakeWatch(kIntervalMs);
  ASSERT_TRUE(watch_->Start(dir_, {"db-wal"}).ok());
  const auto start = Clock::now();
  for (int i = 0; i < 200; ++i) {
    Append("db-wal");
    uv_run(&loop_, UV_RUN_NOWAIT);  // the loop sees the events as they come
  }
  const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
  Run(milliseconds(3 * kIntervalMs));
  EXPECT_GE(reports_, 2);
  EXPECT_LE(reports_, elapsed / kIntervalMs + 3) << "over " << elapsed << " ms";
  const int settled = reports_;
  Run(milliseconds(3 * kIntervalMs));
  EXPECT_EQ(reports_, settled);  // quiet again: nothing more
}

TEST_F(FileWatchTest, StopEndsReportsAndStartResumes) {
  MakeWatch(5);
  ASSERT_TRUE(watch_->Start(dir_, {"db-wal"}).ok());
  Append("db-wal");
  watch_->Stop();  // before the loop saw the event: no report, not even a due one
  EXPECT_FALSE(watch_->watching());
  Run(milliseconds(50));
  EXPECT_EQ(reports_, 0);
  ASSERT_TRUE(watch_->Start(dir_, {"db-wal"}).ok());
  Append("db-wal");
  EXPECT_TRUE(Run(milliseconds(2000), [&] { return reports_ >= 1; }));
}

TEST_F(FileWatchTest, MissingDirectoryIsAnError) {
  MakeWatch(5);
  Status status = watch_->Start(dir_ + "/missing", {"db-wal"});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot watch"), std::string::npos) << status.message();
  EXPECT_FALSE(watch_->watching());
}

TEST_F(FileWatchTest, DestroyingTheWatchInsideItsReportIsSafe) {
  watch_ = std::make_unique<FileWatch>(&loop_, 5, [this] {
    ++reports_;
    watch_.reset();
  });
  ASSERT_TRUE(watch_->Start(dir_, {"db-wal"}).ok());
  Append("db-wal");
  ASSERT_TRUE(Run(milliseconds(2000), [&] { return reports_ == 1; }));
  Append("db-wal");
  Run(milliseconds(30));
  EXPECT_EQ(reports_, 1);
}

}  // namespace
}  // namespace arvel::drivers
