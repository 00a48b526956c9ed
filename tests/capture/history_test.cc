// History from SQL: crlog_events lists the log's events, crlog_ops answers
// "who changed this row, and when".
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/hash.h"
#include "tests/capture/capture_test_util.h"

namespace crlog::capture_test {
namespace {

using Rows = std::vector<std::vector<std::string>>;

class HistoryTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    if (HasFatalFailure()) return;
    db_->Exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER); SELECT crsql_as_crr('t');"
        "INSERT INTO t VALUES (1, 'x', 1);"
        "INSERT INTO t VALUES (2, 'other', 2);"
        "UPDATE t SET a = 'y' WHERE id = 1;"
        "DELETE FROM t WHERE id = 1;");
  }
};

TEST_F(HistoryTest, EventsListsOneRowPerEventAsTheLogHoldsIt) {
  LogSnapshot log = Log();
  auto rows = db_->Values(
      "SELECT hash, kind, site, seq, lamport, time, time_micros, parents, ops, position FROM crlog_events");
  ASSERT_EQ(rows.size(), log.events.size());
  ASSERT_EQ(rows.size(), 5u);  // schema, insert, insert, update, delete
  for (size_t i = 0; i < rows.size(); ++i) {
    const LoggedEvent& e = log.events[i];
    const auto& r = rows[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(r[0].bytes, log::ToHex(e.hash));
    EXPECT_EQ(r[1].bytes, i == 0 ? "schema" : "change");
    EXPECT_EQ(r[2].type, ValueType::kBlob);
    EXPECT_EQ(r[2].bytes, log::AsBytes(e.event.site));
    EXPECT_EQ(r[3].integer, static_cast<int64_t>(e.event.seq));
    EXPECT_EQ(r[4].integer, static_cast<int64_t>(e.event.lamport));
    EXPECT_EQ(r[5].type, ValueType::kText);
    EXPECT_THAT(r[5].bytes, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"));
    EXPECT_EQ(r[6].integer, e.event.time_micros);
    std::vector<std::string> parents;
    for (const auto& p : e.event.parents) parents.push_back(log::ToHex(p));
    EXPECT_EQ(r[7].bytes, absl::StrJoin(parents, " "));
    EXPECT_EQ(r[8].integer, static_cast<int64_t>(e.event.CountOps()));
    EXPECT_EQ(r[9].integer, static_cast<int64_t>(e.position));
  }
  EXPECT_EQ(db_->Rows("SELECT ops FROM crlog_events"), (Rows{{"0"}, {"2"}, {"2"}, {"1"}, {"1"}}));
}

TEST_F(HistoryTest, EventsSiteIsThisReplicasSite) {
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crlog_events WHERE site = crsql_site_id()"), 5);
}

TEST_F(HistoryTest, OpsAnswersWhoChangedThisRow) {
  EXPECT_EQ(db_->Rows("SELECT seq, cid, val, col_version, cl, site = crsql_site_id() FROM crlog_ops"
                      " WHERE \"table\" = 't' AND pk = crsql_pack_columns(1)"),
            (Rows{{"2", "'a'", "'x'", "1", "1", "1"},
                  {"2", "'b'", "1", "1", "1", "1"},
                  {"4", "'a'", "'y'", "2", "1", "1"},
                  {"5", "'-1'", "NULL", "2", "2", "1"}}));
}

TEST_F(HistoryTest, OpsOfEachEventNameTheEventAndItsTime) {
  auto events = db_->Values("SELECT hash, time FROM crlog_events WHERE seq = 4");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(db_->Rows("SELECT event = '" + events[0][0].bytes + "', time = '" + events[0][1].bytes +
                      "' FROM crlog_ops WHERE seq = 4"),
            (Rows{{"1", "1"}}));
}

TEST_F(HistoryTest, OpsWithoutAFilterListEveryOpInLogOrder) {
  EXPECT_EQ(db_->Rows("SELECT seq, \"table\", hex(pk), cid FROM crlog_ops"),
            (Rows{{"2", "'t'", "'010901'", "'a'"},
                  {"2", "'t'", "'010901'", "'b'"},
                  {"3", "'t'", "'010902'", "'a'"},
                  {"3", "'t'", "'010902'", "'b'"},
                  {"4", "'t'", "'010901'", "'a'"},
                  {"5", "'t'", "'010901'", "'-1'"}}));
}

TEST_F(HistoryTest, OpsOfAnotherTableAreNotListedForThisOne) {
  db_->Exec("CREATE TABLE u(id INTEGER PRIMARY KEY NOT NULL, v); SELECT crsql_as_crr('u'); INSERT INTO u VALUES (1, 'u');");
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crlog_ops WHERE \"table\" = 'u' AND pk = crsql_pack_columns(1)"), 1);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crlog_ops WHERE \"table\" = 't' AND pk = crsql_pack_columns(1)"), 4);
}

TEST_F(HistoryTest, RolledBackWritesAreNotHistory) {
  db_->Exec("BEGIN; INSERT INTO t VALUES (9, 'never', 9); ROLLBACK;");
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crlog_ops WHERE pk = crsql_pack_columns(9)"), 0);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crlog_events"), 5);
}

}  // namespace
}  // namespace crlog::capture_test
