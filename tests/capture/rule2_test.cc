// Rule 2 of DESIGN.md: a transaction whose COMMIT returned OK is in the log
// as one event (or one event group), chained to the heads before it; nothing
// else makes an event. Also crsql_as_crr's backfill of existing rows.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/capture/capture_test_util.h"

namespace crlog::capture_test {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class Rule2Test : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    if (HasFatalFailure()) return;
    db_->Exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER);"
        "CREATE TABLE u(k TEXT PRIMARY KEY NOT NULL, v REAL);"
        "CREATE TABLE plain(x INTEGER);"
        "SELECT crsql_as_crr('t'); SELECT crsql_as_crr('u');");
  }
};

TEST_F(Rule2Test, OneTransactionTouchingTwoReplicatedTablesIsOneEvent) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1); INSERT INTO u VALUES ('k', 1.5);"
            "INSERT INTO plain VALUES (7); UPDATE t SET b = 2; COMMIT;");
  auto events = EventsSince(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.kind, log::EventKind::kChange);
  EXPECT_THAT(DescribeRows(events[0].event),
              UnorderedElementsAre("t(1) cl=1 a@1='a' b@2=2", "u('k') cl=1 v@1=1.5"));
  EXPECT_TRUE(Matches({"t", "u"}));
}

TEST_F(Rule2Test, EachEventsParentsAreTheHeadsBeforeIt) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  db_->Exec("INSERT INTO u VALUES ('k', 1)");
  db_->Exec("BEGIN; UPDATE t SET a = 'b'; DELETE FROM u; COMMIT;");
  LogSnapshot log = Log();
  ASSERT_GE(log.events.size(), 5u);  // two schema events, three changes
  EXPECT_EQ(CheckSingleChain(log), "");
  for (size_t i = 1; i < log.events.size(); ++i) {
    EXPECT_THAT(log.events[i].event.parents, ElementsAre(log.events[i - 1].hash)) << "event " << i;
  }
  EXPECT_TRUE(log.events[0].event.parents.empty());
}

TEST_F(Rule2Test, LamportIncreasesAndSeqHasNoGaps) {
  for (int i = 0; i < 5; ++i) db_->Exec(absl::StrCat("INSERT INTO t VALUES (", i, ", 'x', ", i, ")"));
  db_->Exec("BEGIN; INSERT INTO t VALUES (100, 'y', 1); ROLLBACK;");  // consumes no seq
  db_->Exec("INSERT INTO t VALUES (101, 'z', 1)");
  LogSnapshot log = Log();
  for (size_t i = 0; i < log.events.size(); ++i) {
    EXPECT_EQ(log.events[i].event.seq, i + 1);
    if (i > 0) {
      EXPECT_GT(log.events[i].event.lamport, log.events[i - 1].event.lamport);
    }
  }
  EXPECT_EQ(CheckSingleChain(log), "");
}

TEST_F(Rule2Test, EveryEventNamesThisReplicasSite) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  std::string site = db_->Bytes("SELECT crsql_site_id()");
  for (const LoggedEvent& e : Log().events) EXPECT_EQ(log::AsBytes(e.event.site), site);
}

TEST_F(Rule2Test, SelectsMakeNoEvent) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  size_t before = EventCount();
  db_->Exec("SELECT * FROM t; BEGIN; SELECT * FROM u; SELECT * FROM crsql_changes; COMMIT;");
  EXPECT_EQ(EventCount(), before);
}

TEST_F(Rule2Test, TransactionsTouchingOnlyPlainTablesMakeNoEvent) {
  size_t before = EventCount();
  int64_t version = db_->Int("SELECT crsql_db_version()");
  db_->Exec("INSERT INTO plain VALUES (1); BEGIN; INSERT INTO plain VALUES (2); UPDATE plain SET x = 3; COMMIT;");
  db_->Exec("CREATE TABLE other(id INTEGER PRIMARY KEY NOT NULL); DROP TABLE other;");
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), version);
}

TEST_F(Rule2Test, MaintenanceStatementsMakeNoEvent) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  size_t before = EventCount();
  db_->Exec("ANALYZE; REINDEX; VACUUM; PRAGMA integrity_check;");
  EXPECT_EQ(EventCount(), before);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule2Test, AFailedAutocommitStatementConsumesNoSeq) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  EXPECT_NE(db_->Try("INSERT INTO t VALUES (2, 'b', 2), (1, 'dup', 1)"), "");
  db_->Exec("INSERT INTO t VALUES (3, 'c', 3)");
  EXPECT_EQ(CheckSingleChain(Log()), "");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule2Test, ATransactionBeyondTheMaximumEventSizeBecomesAnEventGroup) {
  db_->Exec("SELECT crsql_config_set('crlog-max-event-bytes', 4096)");
  size_t before = EventCount();
  db_->Exec(
      "BEGIN;"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)"
      "  INSERT INTO t SELECT i, printf('row %d with some padding text', i), i * 3 FROM n;"
      "INSERT INTO u VALUES ('last', 2.5);"
      "COMMIT;");
  auto events = EventsSince(before);
  ASSERT_GT(events.size(), 1u) << "a 500-row transaction over 4096 bytes must be split";
  const uint32_t count = static_cast<uint32_t>(events.size());
  for (uint32_t i = 0; i < count; ++i) {
    const log::Event& e = events[i].event;
    EXPECT_EQ(e.kind, log::EventKind::kChange);
    EXPECT_EQ(e.group.count, count) << "member " << i;
    EXPECT_EQ(e.group.index, i);
    EXPECT_EQ(e.seq, events[0].event.seq + i) << "group members take consecutive seqs";
    if (i == 0) {
      EXPECT_EQ(e.group.first, log::Hash{});
    } else {
      EXPECT_EQ(e.group.first, events[0].hash);
      EXPECT_THAT(e.parents, ElementsAre(events[i - 1].hash));
    }
  }
  LogSnapshot log = Log();
  EXPECT_EQ(CheckSingleChain(log), "");
  EXPECT_TRUE(Matches({"t", "u"}));
  // One transaction, one db_version, however many events.
  EXPECT_EQ(db_->Int("SELECT count(DISTINCT db_version) FROM crsql_changes"), 1);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes"), 1001);
}

TEST_F(Rule2Test, MaximumEventSizeSettingIsReadBack) {
  db_->Exec("SELECT crsql_config_set('crlog-max-event-bytes', 4096)");
  EXPECT_EQ(db_->Int("SELECT crsql_config_get('crlog-max-event-bytes')"), 4096);
}

TEST_F(Rule2Test, ASmallTransactionIsNotGrouped) {
  size_t before = EventCount();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  auto events = EventsSince(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].event.group.grouped());
}

// --- Backfill -------------------------------------------------------------------

class BackfillTest : public CaptureTest {};

TEST_F(BackfillTest, AsCrrOnATableWithRowsRecordsASchemaEventThenTheRows) {
  db_->Exec(
      "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b BLOB);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)"
      "  INSERT INTO t SELECT i, 'v' || i, CASE WHEN i % 2 THEN randomblob(4) END FROM n;");
  size_t before = EventCount();
  db_->Exec("SELECT crsql_as_crr('t')");
  auto events = EventsSince(before);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].event.kind, log::EventKind::kSchemaChange);
  EXPECT_EQ(events[0].event.schema_change.table, "t");
  EXPECT_THAT(events[0].event.schema_change.pk_columns, ElementsAre("id"));
  EXPECT_THAT(events[0].event.schema_change.columns, ElementsAre("a", "b"));
  for (size_t i = 1; i < events.size(); ++i) EXPECT_EQ(events[i].event.kind, log::EventKind::kChange);
  EXPECT_EQ(EventsSince(before).size(), events.size());
  EXPECT_TRUE(Matches({"t"}));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE cid = 'a' AND col_version = 1 AND cl = 1"), 50);
}

TEST_F(BackfillTest, BackfillOfACompositeAndAnAllPkTable) {
  db_->Exec(
      "CREATE TABLE c(x TEXT NOT NULL, y INTEGER NOT NULL, v, PRIMARY KEY (y, x));"
      "INSERT INTO c VALUES ('a', 1, 10), ('b', 1, NULL), ('a', 2, 'z');"
      "CREATE TABLE tags(name TEXT NOT NULL, item INTEGER NOT NULL, PRIMARY KEY (name, item)) WITHOUT ROWID;"
      "INSERT INTO tags VALUES ('red', 1), ('red', 2), ('blue', 1);"
      "SELECT crsql_as_crr('c'); SELECT crsql_as_crr('tags');");
  EXPECT_TRUE(Matches({"c", "tags"}));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE \"table\" = 'tags' AND cid = '-1' AND col_version = 1"),
            3);
  // The key packs the pk columns in pk order (y, x), not table order.
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE \"table\" = 'c' AND pk = crsql_pack_columns(2, 'a')"),
            1);
}

TEST_F(BackfillTest, ABigBackfillBecomesAnEventGroup) {
  db_->Exec(
      "SELECT crsql_config_set('crlog-max-event-bytes', 4096);"
      "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)"
      "  INSERT INTO t SELECT i, printf('backfilled row %d', i) FROM n;");
  size_t before = EventCount();
  db_->Exec("SELECT crsql_as_crr('t')");
  auto events = EventsSince(before);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].event.kind, log::EventKind::kSchemaChange);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event.group.count, events.size() - 1);
    EXPECT_EQ(events[i].event.group.index, i - 1);
  }
  EXPECT_EQ(CheckSingleChain(Log()), "");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(BackfillTest, AsCrrInsideARolledBackTransactionLeavesNoEvent) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); INSERT INTO t VALUES (1, 'x');");
  size_t before = EventCount();
  db_->Exec("BEGIN; SELECT crsql_as_crr('t'); ROLLBACK;");
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM sqlite_schema WHERE name GLOB 'crlog_t_*'"), 0);
  // And it can be made replicated afterwards, with the backfill.
  db_->Exec("SELECT crsql_as_crr('t')");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(BackfillTest, AsCrrAndWritesInOneTransactionAreRecordedTogether) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); INSERT INTO t VALUES (1, 'x');");
  size_t before = EventCount();
  db_->Exec("BEGIN; SELECT crsql_as_crr('t'); INSERT INTO t VALUES (2, 'y'); UPDATE t SET a = 'z' WHERE id = 1; COMMIT;");
  auto events = EventsSince(before);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event.kind, log::EventKind::kSchemaChange);
  EXPECT_THAT(DescribeRows(events[1].event), ElementsAre("t(1) cl=1 a@2='z'", "t(2) cl=1 a@1='y'"));
  EXPECT_TRUE(Matches({"t"}));
}

}  // namespace
}  // namespace crlog::capture_test
