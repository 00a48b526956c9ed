// The capture buffer follows SQLite's savepoints exactly.
#include "engine/capture/capture_buffer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace crlog::engine {
namespace {

std::vector<std::string> Deleted(const CaptureBuffer& b) {
  std::vector<std::string> out;
  absl::Status s = b.ForEach([&](const CapturedOp& op) {
    out.emplace_back(op.pk);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

class CaptureBufferTest : public ::testing::Test {
 protected:
  CaptureBuffer buffer_{std::make_shared<TableDesc>()};
};

TEST_F(CaptureBufferTest, RollbackToDropsOnlyWritesAfterTheSavepoint) {
  buffer_.AddDelete("a");
  buffer_.Savepoint(0);
  buffer_.AddDelete("b");
  buffer_.Savepoint(1);
  buffer_.AddDelete("c");
  buffer_.RollbackTo(1);
  EXPECT_EQ(Deleted(buffer_), (std::vector<std::string>{"a", "b"}));
  buffer_.AddDelete("d");  // savepoint 1 is still open after ROLLBACK TO
  buffer_.RollbackTo(1);
  EXPECT_EQ(Deleted(buffer_), (std::vector<std::string>{"a", "b"}));
  buffer_.RollbackTo(0);
  EXPECT_EQ(Deleted(buffer_), (std::vector<std::string>{"a"}));
}

TEST_F(CaptureBufferTest, ReleaseKeepsTheWritesAndForgetsTheSavepoint) {
  buffer_.Savepoint(0);
  buffer_.AddDelete("a");
  buffer_.Savepoint(1);
  buffer_.AddDelete("b");
  buffer_.Release(1);
  buffer_.RollbackTo(0);
  EXPECT_TRUE(Deleted(buffer_).empty());
  buffer_.AddDelete("c");
  buffer_.Savepoint(0);
  buffer_.AddDelete("d");
  buffer_.Release(0);
  EXPECT_EQ(Deleted(buffer_), (std::vector<std::string>{"c", "d"}));
}

TEST_F(CaptureBufferTest, ABufferThatJoinedAfterASavepointRollsBackEverything) {
  // SQLite tells a table that joins late only about the newest savepoint;
  // rolling back to an older one undoes all the table wrote.
  buffer_.Savepoint(3);
  buffer_.AddDelete("a");
  buffer_.RollbackTo(1);
  EXPECT_TRUE(Deleted(buffer_).empty());
  EXPECT_TRUE(buffer_.empty());
}

TEST_F(CaptureBufferTest, AFirstWriteInsideASavepointIsRolledBackAfterItsStatementEnds) {
  // SAVEPOINT a; INSERT ...; ROLLBACK TO a: the table joins during the
  // INSERT, SQLite marks and then releases that statement's own savepoint,
  // and the rollback names the older savepoint a.
  buffer_.Savepoint(1);
  buffer_.AddDelete("a");
  buffer_.Release(1);
  buffer_.RollbackTo(0);
  EXPECT_TRUE(buffer_.empty());
}

TEST_F(CaptureBufferTest, ClearForgetsWritesAndSavepoints) {
  buffer_.Savepoint(0);
  buffer_.AddDelete("a");
  buffer_.Clear();
  EXPECT_TRUE(buffer_.empty());
  buffer_.AddDelete("b");
  EXPECT_EQ(Deleted(buffer_), (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace crlog::engine
