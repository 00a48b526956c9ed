// cr-sqlite's functions and the read side of crsql_changes, as a program
// that loads crsqlite sees them (crsql-compat.md).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/hash.h"
#include "tests/capture/capture_test_util.h"

namespace crlog::capture_test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Rows = std::vector<std::vector<std::string>>;

class FunctionsTest : public CaptureTest {
 protected:
  void MakeT() {
    db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER); SELECT crsql_as_crr('t');");
  }
};

// --- crsql_site_id --------------------------------------------------------------

TEST_F(FunctionsTest, SiteIdIsA16ByteBlob) {
  EXPECT_EQ(db_->Rows("SELECT typeof(crsql_site_id()), length(crsql_site_id())"), (Rows{{"'blob'", "16"}}));
}

TEST_F(FunctionsTest, SiteIdIsStableAcrossReopen) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  std::string site = db_->Bytes("SELECT crsql_site_id()");
  db_.reset();
  OPEN_DB(again, path_);
  EXPECT_EQ(again->Bytes("SELECT crsql_site_id()"), site);
  // Writes after reopening continue the same chain.
  again->Exec("INSERT INTO t VALUES (2, 'b', 2)");
  LogSnapshot log = ReadLog(path_);
  ASSERT_EQ(log.error, "");
  EXPECT_EQ(CheckSingleChain(log), "");
  for (const LoggedEvent& e : log.events) EXPECT_EQ(log::AsBytes(e.event.site), site);
}

TEST_F(FunctionsTest, DifferentDatabasesHaveDifferentSiteIds) {
  OPEN_DB(other, dir_.File("other.db"));
  EXPECT_NE(db_->Bytes("SELECT crsql_site_id()"), other->Bytes("SELECT crsql_site_id()"));
}

// --- crsql_db_version -------------------------------------------------------------

TEST_F(FunctionsTest, DbVersionIsZeroOnAFreshDatabase) {
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), 0);
}

// cr-sqlite 0.16.3 (probed through @vlcn.io/crsqlite-wasm 0.16.0): making an
// empty table replicated records no change, so crsql_db_version() stays 0
// and the first insert commits at 1.
TEST_F(FunctionsTest, DbVersionIsUnchangedByMakingAnEmptyTableReplicated) {
  MakeT();
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), 0);
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), 1);
  EXPECT_EQ(db_->Int("SELECT max(db_version) FROM crsql_changes"), 1);
}

TEST_F(FunctionsTest, DbVersionRisesByOnePerCommittedWriteTransaction) {
  MakeT();
  db_->Exec("CREATE TABLE plain(x)");
  int64_t v = db_->Int("SELECT crsql_db_version()");
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v + 1);
  db_->Exec("BEGIN; INSERT INTO t VALUES (2, 'b', 2); UPDATE t SET a = 'c'; DELETE FROM t WHERE id = 1; COMMIT;");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v + 2);
  db_->Exec("BEGIN; INSERT INTO t VALUES (3, 'c', 3); ROLLBACK;");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v + 2) << "a rollback consumes no version";
  db_->Exec("SELECT * FROM t; INSERT INTO plain VALUES (1);");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v + 2) << "reads and plain tables consume none";
  db_->Exec("INSERT INTO t VALUES (4, 'd', 4)");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v + 3);
  EXPECT_EQ(db_->Int("SELECT max(db_version) FROM crsql_changes"), v + 3);
}

TEST_F(FunctionsTest, DbVersionInsideAnOpenTransactionIsTheCommittedOne) {
  MakeT();
  int64_t v = db_->Int("SELECT crsql_db_version()");
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1);");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v);
  EXPECT_EQ(db_->Int("SELECT crsql_next_db_version()"), v + 1);
  db_->Exec("COMMIT");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v + 1);
}

TEST_F(FunctionsTest, NextDbVersionWithAnArgumentRaisesTheCommitVersion) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  int64_t v = db_->Int("SELECT crsql_db_version()");
  ASSERT_LT(v, 9);
  db_->Exec("BEGIN");
  EXPECT_EQ(db_->Int("SELECT crsql_next_db_version()"), v + 1);
  EXPECT_EQ(db_->Int("SELECT crsql_next_db_version(10)"), 10);
  EXPECT_EQ(db_->Int("SELECT crsql_next_db_version()"), 10);
  db_->Exec("INSERT INTO t VALUES (2, 'b', 2); COMMIT;");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), 10);
  EXPECT_EQ(db_->Rows("SELECT DISTINCT db_version FROM crsql_changes WHERE pk = crsql_pack_columns(2)"),
            (Rows{{"10"}}));
  db_->Exec("INSERT INTO t VALUES (3, 'c', 3)");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), 11);
}

// A db_version past 2^62 is one crsql_changes refuses to take back, so a
// replica that committed at it would publish changes no peer, itself
// included, accepts (found by the changes fuzzer).
TEST_F(FunctionsTest, NextDbVersionRefusesAVersionBeyondTheLargestTheLogRecords) {
  MakeT();
  db_->Exec("BEGIN");
  EXPECT_THAT(db_->Try("SELECT crsql_next_db_version(4611686018427387905)"),
              AllOf(HasSubstr("crsql_next_db_version"), HasSubstr("4611686018427387904")));
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1); COMMIT;");
  EXPECT_LT(db_->Int("SELECT crsql_db_version()"), 10);
}

TEST_F(FunctionsTest, ACommitPastTheLargestDbVersionIsRefusedAndKeepsNothing) {
  MakeT();
  db_->Exec("BEGIN; SELECT crsql_next_db_version(4611686018427387904); INSERT INTO t VALUES (1, 'a', 1); COMMIT;");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), int64_t{1} << 62);
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (2, 'b', 2)"), HasSubstr("db_version"));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM t"), 1);
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), int64_t{1} << 62);
  // Every change the replica publishes is one it (and so a peer) takes back.
  EXPECT_THAT(db_->Try("INSERT INTO crsql_changes SELECT * FROM crsql_changes"), IsEmpty());
}

TEST_F(FunctionsTest, NextDbVersionRaisedInARolledBackTransactionIsForgotten) {
  MakeT();
  int64_t v = db_->Int("SELECT crsql_db_version()");
  db_->Exec("BEGIN; SELECT crsql_next_db_version(50); INSERT INTO t VALUES (1, 'a', 1); ROLLBACK;");
  db_->Exec("INSERT INTO t VALUES (2, 'b', 2)");
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), v + 1);
}

// --- Small functions ------------------------------------------------------------------

TEST_F(FunctionsTest, PackColumnsMatchesCrSqlitesBytes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1", "010901"},
      {"128", "010980"},
      {"256", "01110100"},
      {"-1", "0141FFFFFFFFFFFFFFFF"},
      {"1.5", "01023FF8000000000000"},
      {"'', NULL, 0", "03030501"},
      {"'ab', X'ff'", "020B0261620C01FF"},
      {"'x', -5", "020B017841FFFFFFFFFFFFFFFB"},
  };
  for (const auto& [args, hex] : cases) {
    EXPECT_EQ(db_->Rows(absl::StrCat("SELECT hex(crsql_pack_columns(", args, "))")), (Rows{{"'" + hex + "'"}}))
        << "crsql_pack_columns(" << args << ")";
  }
  EXPECT_EQ(db_->Rows("SELECT hex(substr(crsql_pack_columns(printf('%.300c', 'z')), 1, 4)),"
                      " length(crsql_pack_columns(printf('%.300c', 'z')))"),
            (Rows{{"'0113012C'", "304"}}));
}

TEST_F(FunctionsTest, ShaReturnsText) {
  EXPECT_EQ(db_->Rows("SELECT typeof(crsql_sha()), length(crsql_sha()) > 0"), (Rows{{"'text'", "1"}}));
}

TEST_F(FunctionsTest, FinalizeSucceedsBeforeClose) {
  EXPECT_EQ(db_->Try("SELECT crsql_finalize()"), "");
}

// --- crsql_changes -------------------------------------------------------------------

TEST_F(FunctionsTest, ChangesHasCrSqlitesNineColumns) {
  EXPECT_EQ(db_->Rows("SELECT name FROM pragma_table_info('crsql_changes')"),
            (Rows{{"'table'"}, {"'pk'"}, {"'cid'"}, {"'val'"}, {"'col_version'"}, {"'db_version'"},
                  {"'site_id'"}, {"'cl'"}, {"'seq'"}}));
}

TEST_F(FunctionsTest, ChangesAfterAnInsertShowOneRowPerNonPkColumnAndNoSentinel) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  EXPECT_EQ(db_->Rows("SELECT \"table\", hex(pk), cid, val, col_version, cl, site_id = crsql_site_id(),"
                      " db_version = crsql_db_version() FROM crsql_changes ORDER BY cid"),
            (Rows{{"'t'", "'010901'", "'a'", "'x'", "1", "1", "1", "1"},
                  {"'t'", "'010901'", "'b'", "2", "1", "1", "1", "1"}}));
}

TEST_F(FunctionsTest, ChangesOfARowWhoseColumnsAreAllPkIsASentinelWithVersionOne) {
  db_->Exec(
      "CREATE TABLE tags(name TEXT NOT NULL, item INTEGER NOT NULL, PRIMARY KEY (name, item));"
      "SELECT crsql_as_crr('tags'); INSERT INTO tags VALUES ('red', 1);");
  EXPECT_EQ(db_->Rows("SELECT hex(pk), cid, val, col_version, cl FROM crsql_changes"),
            (Rows{{"'020B0372656409" "01'", "'-1'", "NULL", "1", "1"}}));
}

TEST_F(FunctionsTest, ADeleteLeavesOnlyASentinelWithCausalLengthTwo) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2); DELETE FROM t WHERE id = 1;");
  EXPECT_EQ(db_->Rows("SELECT cid, val, col_version, cl FROM crsql_changes"), (Rows{{"'-1'", "NULL", "2", "2"}}));
}

TEST_F(FunctionsTest, AReinsertGivesCausalLengthThreeAndColumnVersionsRestartAtOne) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2); UPDATE t SET a = 'y'; DELETE FROM t WHERE id = 1;"
            "INSERT INTO t VALUES (1, 'z', 3);");
  EXPECT_EQ(db_->Rows("SELECT cid, val, col_version, cl FROM crsql_changes WHERE cid != '-1' ORDER BY cid"),
            (Rows{{"'a'", "'z'", "1", "3"}, {"'b'", "3", "1", "3"}}));
  // cr-sqlite also keeps the row's sentinel, now at 3.
  EXPECT_EQ(db_->Rows("SELECT col_version, cl FROM crsql_changes WHERE cid = '-1'"), (Rows{{"3", "3"}}));
}

TEST_F(FunctionsTest, AnUpdateMovesOnlyTheChangedCellToTheNewDbVersion) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  int64_t first = db_->Int("SELECT crsql_db_version()");
  db_->Exec("UPDATE t SET b = 5");
  EXPECT_EQ(db_->Rows("SELECT cid, val, col_version, db_version - " + std::to_string(first) +
                      " FROM crsql_changes ORDER BY db_version, seq"),
            (Rows{{"'a'", "'x'", "1", "0"}, {"'b'", "5", "2", "1"}}));
}

TEST_F(FunctionsTest, ChangesAreOrderedByDbVersionThenSeq) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (2, 'b', 2); INSERT INTO t VALUES (1, 'a', 1); UPDATE t SET a = 'c' WHERE id = 2;");
  auto rows = db_->Values("SELECT db_version, seq FROM crsql_changes");
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i = 1; i < rows.size(); ++i) {
    bool ordered = rows[i - 1][0].integer < rows[i][0].integer ||
                   (rows[i - 1][0].integer == rows[i][0].integer && rows[i - 1][1].integer < rows[i][1].integer);
    EXPECT_TRUE(ordered) << "row " << i;
  }
}

TEST_F(FunctionsTest, DbVersionFilterReturnsOnlyLaterChanges) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  int64_t v = db_->Int("SELECT crsql_db_version()");
  db_->Exec("INSERT INTO t VALUES (2, 'b', 2); UPDATE t SET a = 'c' WHERE id = 1;");
  const std::string vs = std::to_string(v);
  EXPECT_EQ(db_->Rows("SELECT hex(pk), cid, db_version - " + vs + " FROM crsql_changes WHERE db_version > " + vs),
            (Rows{{"'010902'", "'a'", "1"}, {"'010902'", "'b'", "1"}, {"'010901'", "'a'", "2"}}));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE db_version >= " + vs), 4);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE db_version = " + vs), 1);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE db_version > " + std::to_string(v + 2)), 0);
}

TEST_F(FunctionsTest, SiteFiltersSelectLocalChangesAndNullMatchesNothing) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2)");
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE site_id = crsql_site_id()"), 4);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE site_id IS NULL"), 0);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE site_id IS NOT crsql_site_id()"), 0);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE site_id != zeroblob(16)"), 4);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes WHERE db_version > 0 AND site_id IS NOT zeroblob(16)"), 4);
}

TEST_F(FunctionsTest, ADbVersionFilterUsesTheVirtualTablesIndex) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  for (const std::string sql : {"SELECT * FROM crsql_changes WHERE db_version > 3",
                                "SELECT * FROM crsql_changes WHERE db_version > 3 AND site_id IS NOT X'00'"}) {
    auto plan = db_->Values("EXPLAIN QUERY PLAN " + sql);
    ASSERT_FALSE(plan.empty());
    std::string detail = plan.back().back().bytes;
    EXPECT_THAT(detail, HasSubstr("VIRTUAL TABLE INDEX ")) << sql;
    EXPECT_THAT(detail, Not(HasSubstr("INDEX 0:"))) << sql;
  }
}

TEST_F(FunctionsTest, UpdateAndDeleteOnChangesFail) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  EXPECT_NE(db_->Try("UPDATE crsql_changes SET val = 'z'"), "");
  EXPECT_NE(db_->Try("DELETE FROM crsql_changes"), "");
  EXPECT_NE(db_->Try("DELETE FROM crsql_changes WHERE cid = 'a'"), "");
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes"), 2);
  EXPECT_EQ(db_->Rows("SELECT a FROM t"), (Rows{{"'a'"}}));
}

TEST_F(FunctionsTest, ChangesOfATableNoLongerReplicatedDisappear) {
  MakeT();
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1); SELECT crsql_as_table('t');");
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes"), 0);
  size_t before = EventCount();
  db_->Exec("INSERT INTO t VALUES (2, 'b', 2)");
  EXPECT_EQ(EventCount(), before) << "a plain table is no longer captured";
}

}  // namespace
}  // namespace crlog::capture_test
