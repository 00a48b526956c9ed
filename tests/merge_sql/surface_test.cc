// The rest of crsql_changes' surface around merging: columns a replica does
// not have yet are kept until ALTER TABLE adds them, the sync filters are
// consumed by the virtual table instead of scanned, UPDATE and DELETE are
// refused, and concurrent writes of one cell are recorded as conflicts.
#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kT = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)";

// A change for a column B lacks is not an error; B's other columns still
// sync; once B adds the column (between crsql_begin_alter and
// crsql_commit_alter), the kept value is in the table.
TEST_F(MergeSqlTest, UnknownColumnIsKeptAndAppliedAfterAlter) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, extra)", "t");
  MakeCrr(*b, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a)", "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 'e1'), (2, 'y', 'e2')");
  a->Exec("UPDATE t SET extra = 'e1b' WHERE id = 1");
  SyncCursor ab;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "") << "an unknown column is kept, not refused";
  EXPECT_EQ(TableLines(*b, "t"), (std::vector<std::string>{"1|'x'", "2|'y'"}));
  EXPECT_EQ(b->Int("SELECT count(*) FROM crsql_changes WHERE cid = 'a'"), 2);

  ASSERT_EQ(b->Try("SELECT crsql_begin_alter('t'); ALTER TABLE t ADD COLUMN extra; SELECT crsql_commit_alter('t');"),
            "");
  EXPECT_EQ(TableLines(*b, "t"), (std::vector<std::string>{"1|'x'|'e1b'", "2|'y'|'e2'"}));
  EXPECT_EQ(TableLines(*b, "t"), TableLines(*a, "t"));
  auto extra = SelectChanges(*b, "WHERE cid = 'extra' ORDER BY pk");
  ASSERT_EQ(extra.size(), 2u);
  EXPECT_EQ(Hex(extra[0].site), Hex(SiteOf(*a)));
  EXPECT_EQ(extra[0].col_version, 2);
  EXPECT_EQ(extra[1].col_version, 1);
  // Both sides now agree on everything, and keep syncing.
  SyncCursor ba;
  ASSERT_EQ(SyncOnce(*b, *a, &ba), "");
  EXPECT_EQ(ChangeLines(*a), ChangeLines(*b));
  b->Exec("UPDATE t SET extra = 'from b' WHERE id = 2");
  ASSERT_EQ(SyncOnce(*b, *a, &ba), "");
  EXPECT_EQ(TableLines(*a, "t"), (std::vector<std::string>{"1|'x'|'e1b'", "2|'y'|'from b'"}));
}

// The index number the plan of `sql` reports for crsql_changes ("SCAN
// crsql_changes VIRTUAL TABLE INDEX n:..."), or -1 when the plan has none.
int PlanIndex(Db& db, const std::string& sql, std::string* detail) {
  for (const auto& row : Query(db, absl::StrCat("EXPLAIN QUERY PLAN ", sql), {Value::Integer(0), Value::Blob(FakeSite(1))})) {
    const std::string& d = row.back().bytes;
    *detail += d + "\n";
    size_t at = d.find("VIRTUAL TABLE INDEX ");
    if (at != std::string::npos) return std::atoi(d.c_str() + at + 20);
  }
  return -1;
}

class FilterTest : public MergeSqlTest {
 protected:
  void SetUp() override {
    a_ = OpenReplica(File("a.db"));
    b_ = OpenReplica(File("b.db"));
    ASSERT_TRUE(a_->loaded() && b_->loaded());
    MakeCrr(*a_, kT, "t");
    MakeCrr(*b_, kT, "t");
    a_->Exec("INSERT INTO t VALUES (1, 'a1', 1)");
    b_->Exec("INSERT INTO t VALUES (2, 'b2', 2)");
    SyncCursor ba;
    ASSERT_EQ(SyncOnce(*b_, *a_, &ba), "");
    a_->Exec("INSERT INTO t VALUES (3, 'a3', 3)");
    site_a_ = SiteOf(*a_);
    site_b_ = SiteOf(*b_);
  }

  // The plan of `where` uses an index (nonzero idxNum) and the query returns
  // the rows whose pk is in `want_pks`.
  void ExpectIndexed(std::string_view where, const Params& params, std::vector<std::string> want_pks) {
    const std::string sql = absl::StrCat("SELECT \"table\", pk, cid, val FROM crsql_changes ", std::string(where));
    std::string detail;
    int idx = PlanIndex(*a_, sql, &detail);
    EXPECT_GT(idx, 0) << "no index consumed for: " << sql << "\nplan:\n" << detail;
    EXPECT_THAT(detail, ::testing::Not(HasSubstr("INDEX 0:"))) << detail;
    std::vector<std::string> got;
    for (const Change& c : SelectChanges(*a_, where, params)) got.push_back(capture_test::PkText(c.pk));
    std::sort(got.begin(), got.end());
    got.erase(std::unique(got.begin(), got.end()), got.end());
    EXPECT_EQ(got, want_pks) << sql;
  }

  std::unique_ptr<Db> a_, b_;
  std::string site_a_, site_b_;
};

TEST_F(FilterTest, DbVersionGreaterThanUsesAnIndex) {
  // A: row 1 at 1, B's row 2 merged at 2, row 3 at 3.
  ExpectIndexed("WHERE db_version > ?", {Value::Integer(1)}, {"2", "3"});
  ExpectIndexed("WHERE db_version > ?", {Value::Integer(2)}, {"3"});
}

// A REAL bound compares as SQLite compares an integer with it; one outside
// int64's range used to be cast to int64 (undefined: in practice INT64_MIN,
// so `> 1e300` listed every change). Found by the crsql_changes fuzzer.
TEST_F(FilterTest, DbVersionAgainstARealComparesAsSqliteDoes) {
  ExpectIndexed("WHERE db_version > ?", {Value::Real(1e300)}, {});
  ExpectIndexed("WHERE db_version > ?", {Value::Real(-1e300)}, {"1", "2", "3"});
  ExpectIndexed("WHERE db_version > ?", {Value::Real(1.5)}, {"2", "3"});
  ExpectIndexed("WHERE db_version >= ?", {Value::Real(1e300)}, {});
  ExpectIndexed("WHERE db_version >= ?", {Value::Real(1.5)}, {"2", "3"});
  ExpectIndexed("WHERE db_version >= ?", {Value::Real(2.0)}, {"2", "3"});
  ExpectIndexed("WHERE db_version = ?", {Value::Real(2.0)}, {"2"});
  ExpectIndexed("WHERE db_version = ?", {Value::Real(2.5)}, {});
  ExpectIndexed("WHERE db_version = ?", {Value::Real(-1e300)}, {});
}

TEST_F(FilterTest, SiteIdIsNotUsesAnIndex) {
  ExpectIndexed("WHERE site_id IS NOT ?", {Value::Blob(site_b_)}, {"1", "3"});
  ExpectIndexed("WHERE site_id IS NOT ?", {Value::Blob(site_a_)}, {"2"});
}

TEST_F(FilterTest, SiteIdNotEqualUsesAnIndex) {
  ExpectIndexed("WHERE site_id != ?", {Value::Blob(site_a_)}, {"2"});
}

TEST_F(FilterTest, SiteIdEqualsUsesAnIndex) {
  ExpectIndexed("WHERE site_id = ?", {Value::Blob(site_b_)}, {"2"});
  ExpectIndexed("WHERE site_id = ?", {Value::Blob(FakeSite(9))}, {});
}

TEST_F(FilterTest, SyncQueryUsesAnIndexForBothConstraints) {
  const std::string sql =
      "SELECT \"table\", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes "
      "WHERE db_version > ? AND site_id IS NOT ?";
  std::string detail, version_detail, site_detail;
  int idx = PlanIndex(*a_, sql, &detail);
  int version_idx = PlanIndex(*a_, "SELECT pk FROM crsql_changes WHERE db_version > ?", &version_detail);
  int site_idx = PlanIndex(*a_, "SELECT pk FROM crsql_changes WHERE site_id IS NOT ?", &site_detail);
  EXPECT_GT(idx, 0) << detail;
  // Both constraints reach the virtual table: the index number differs from
  // that of either constraint alone.
  EXPECT_NE(idx, version_idx) << detail << version_detail;
  EXPECT_NE(idx, site_idx) << detail << site_detail;
  ExpectIndexed("WHERE db_version > ? AND site_id IS NOT ?", {Value::Integer(0), Value::Blob(site_b_)}, {"1", "3"});
  ExpectIndexed("WHERE db_version > ? AND site_id IS NOT ?", {Value::Integer(1), Value::Blob(site_b_)}, {"3"});
}

// UPDATE and DELETE on crsql_changes fail with a clear error.
TEST_F(FilterTest, UpdateOfCrsqlChangesIsRefused) {
  const auto before = ChangeLines(*a_);
  std::string err = a_->Try("UPDATE crsql_changes SET val = 'hacked'");
  EXPECT_THAT(err, HasSubstr("crsql_changes"));
  EXPECT_THAT(err, HasSubstr("UPDATE"));
  EXPECT_EQ(ChangeLines(*a_), before);
  EXPECT_EQ(TableLines(*a_, "t"), (std::vector<std::string>{"1|'a1'|1", "2|'b2'|2", "3|'a3'|3"}));
}

TEST_F(FilterTest, DeleteFromCrsqlChangesIsRefused) {
  const auto before = ChangeLines(*a_);
  std::string err = a_->Try("DELETE FROM crsql_changes");
  EXPECT_THAT(err, HasSubstr("crsql_changes"));
  EXPECT_THAT(err, HasSubstr("DELETE"));
  EXPECT_EQ(ChangeLines(*a_), before);
  EXPECT_EQ(TableLines(*a_, "t").size(), 3u);
}

// A and B both update one cell from the same base (same col_version) with
// different values; after syncing both ways each side has recorded the
// conflict, naming the winner (greater value) and the loser.
TEST_F(MergeSqlTest, ConcurrentUpdatesAreRecordedAsConflictsOnBothSides) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'base', 0)");
  SyncCursor ab, ba;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  EXPECT_EQ(b->Int("SELECT count(*) FROM crlog_conflicts"), 0) << "an overwrite is not a conflict";
  a->Exec("UPDATE t SET a = 'fromA' WHERE id = 1");
  b->Exec("UPDATE t SET a = 'fromB' WHERE id = 1");
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  ASSERT_EQ(SyncOnce(*b, *a, &ba), "");
  EXPECT_EQ(TableLines(*a, "t"), std::vector<std::string>{"1|'fromB'|0"});
  EXPECT_EQ(TableLines(*b, "t"), std::vector<std::string>{"1|'fromB'|0"});
  EXPECT_EQ(ChangeLines(*a), ChangeLines(*b));
  const std::string sa = Hex(SiteOf(*a)), sb = Hex(SiteOf(*b));
  for (Db* db : {a.get(), b.get()}) {
    SCOPED_TRACE(db == a.get() ? "on A" : "on B");
    auto rows = db->Rows(
        "SELECT tbl, lower(hex(pk)), cid, lower(hex(winner_site)), winner_value, lower(hex(loser_site)), "
        "loser_value, col_version "
        "FROM crlog_conflicts");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"'t'", "'010901'", "'a'", absl::StrCat("'", sb, "'"), "'fromB'",
                                                 absl::StrCat("'", sa, "'"), "'fromA'", "2"}));
  }
}

}  // namespace
}  // namespace crlog::merge_sql_test
