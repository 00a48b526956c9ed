// Every branch of the merge rule of crsql-compat.md ("Merge rule for INSERT
// INTO crsql_changes"), one test each: a replica B holds a row written
// locally, a change from another site arrives through INSERT INTO
// crsql_changes, and the table, crsql_changes and crsql_rows_impacted() show
// whether it won. Also the '-1' entries (deletes, rows whose columns are all
// pk) and crsql_rows_impacted().
#include <ostream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

constexpr std::string_view kT = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)";

class MergeRuleTest : public MergeSqlTest {
 protected:
  void SetUp() override {
    b_ = OpenReplica(File("b.db"));
    ASSERT_TRUE(b_->loaded()) << b_->load_error();
    MakeCrr(*b_, kT, "t");
    site_b_ = SiteOf(*b_);
  }

  // A change to t(1) from site `s_`.
  Change Incoming(std::string cid, Value val, int64_t col_version, int64_t cl, int64_t seq = 0) {
    return Change{"t", PkInt(1), std::move(cid), std::move(val), col_version, /*db_version=*/7, s_, cl, seq};
  }

  // Merges `changes` in one transaction; returns crsql_rows_impacted() read
  // before COMMIT. Failures are test failures.
  int64_t Merge(const std::vector<Change>& changes) {
    EXPECT_EQ(b_->Try("BEGIN"), "");
    for (const Change& c : changes) EXPECT_EQ(InsertChange(*b_, c), "") << Describe(c);
    int64_t impacted = RowsImpacted(*b_);
    EXPECT_EQ(b_->Try("COMMIT"), "");
    if (!sqlite3_get_autocommit(b_->get())) b_->Try("ROLLBACK");
    EXPECT_EQ(RowsImpacted(*b_), 0) << "crsql_rows_impacted() after COMMIT";
    return impacted;
  }

  // The crsql_changes entry of t(1) for `cid` (a test failure unless exactly one).
  Change Entry(std::string_view cid) {
    auto rows = SelectChanges(*b_, "WHERE \"table\" = 't' AND pk = X'010901' AND cid = ?", {Value::Text(cid)});
    if (rows.size() != 1) {
      ADD_FAILURE() << rows.size() << " crsql_changes entries for t(1) " << cid;
      return Change{};
    }
    return rows[0];
  }
  std::vector<std::string> Row1() { return TableLines(*b_, "t"); }
  int64_t Cl() {
    auto rows = SelectChanges(*b_, "WHERE \"table\" = 't' AND pk = X'010901'");
    return rows.empty() ? -1 : rows[0].cl;
  }

  std::unique_ptr<Db> b_;
  std::string site_b_;
  std::string s_ = FakeSite(0xee);
};

// Rule 1: incoming cl smaller than local: ignored, whatever its col_version.
TEST_F(MergeRuleTest, SmallerIncomingClIsIgnored) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  b_->Exec("DELETE FROM t WHERE id = 1");
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");  // cl 3
  ASSERT_EQ(Cl(), 3);
  EXPECT_EQ(Merge({Incoming("a", Value::Text("zzz"), 9, 1)}), 0);
  EXPECT_EQ(Merge({Incoming("-1", Value::Null(), 2, 2)}), 0) << "a delete at cl 2 under cl 3";
  EXPECT_EQ(Row1(), std::vector<std::string>{"1|'x'|'y'"});
  EXPECT_EQ(Hex(Entry("a").site), Hex(site_b_));
  EXPECT_EQ(Entry("a").col_version, 1);
  EXPECT_EQ(Cl(), 3);
}

// Rule 2: incoming cl larger and even deletes the row, even one whose cells
// have higher column versions.
TEST_F(MergeRuleTest, LargerEvenClDeletesTheRow) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  b_->Exec("UPDATE t SET a = 'x2' WHERE id = 1");
  b_->Exec("UPDATE t SET a = 'x3' WHERE id = 1");  // a@3
  EXPECT_EQ(Merge({Incoming("-1", Value::Null(), 2, 2)}), 1);
  EXPECT_EQ(Row1(), std::vector<std::string>{});
  auto rows = SelectChanges(*b_, "WHERE pk = X'010901'");
  ASSERT_EQ(rows.size(), 1u) << "a deleted row keeps only its '-1' entry";
  EXPECT_EQ(rows[0].cid, "-1");
  EXPECT_EQ(rows[0].cl, 2);
  EXPECT_TRUE(rows[0].val.is_null());
  EXPECT_EQ(Hex(rows[0].site), Hex(s_));
}

// Rule 2: equal even cl: nothing to do (the local delete stays, with its site).
TEST_F(MergeRuleTest, EqualEvenClChangesNothing) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  b_->Exec("DELETE FROM t WHERE id = 1");
  const auto before = ChangeLines(*b_);
  const int64_t events = EventCount(*b_);
  EXPECT_EQ(Merge({Incoming("-1", Value::Null(), 2, 2)}), 0);
  EXPECT_EQ(Row1(), std::vector<std::string>{});
  EXPECT_EQ(ChangeLines(*b_), before);
  EXPECT_EQ(Hex(Entry("-1").site), Hex(site_b_));
  EXPECT_EQ(EventCount(*b_), events) << "a change with no effect was recorded";
}

// Rule 3: incoming cl larger and odd brings a deleted row back with the
// incoming cell; cells that did not arrive are empty and have no version.
TEST_F(MergeRuleTest, LargerOddClResurrectsADeletedRow) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  b_->Exec("UPDATE t SET a = 'x2' WHERE id = 1");
  b_->Exec("DELETE FROM t WHERE id = 1");  // cl 2
  EXPECT_EQ(Merge({Incoming("a", Value::Text("back"), 1, 3)}), 1);
  EXPECT_EQ(Row1(), std::vector<std::string>{"1|'back'|NULL"});
  EXPECT_EQ(Cl(), 3);
  Change a = Entry("a");
  EXPECT_EQ(a.col_version, 1);
  EXPECT_EQ(Hex(a.site), Hex(s_));
  EXPECT_EQ(b_->Int("SELECT count(*) FROM crsql_changes WHERE pk = X'010901' AND cid = 'b'"), 0);
  // Column versions restart: a local write of b is b@1, of a is a@2.
  b_->Exec("UPDATE t SET b = 'local' WHERE id = 1");
  EXPECT_EQ(Entry("b").col_version, 1);
  EXPECT_EQ(Entry("b").cl, 3);
  b_->Exec("UPDATE t SET a = 'local' WHERE id = 1");
  EXPECT_EQ(Entry("a").col_version, 2);
}

// Rule 3 on a live row (the peer deleted and re-inserted it): the incoming
// cell wins whatever the local version, and the row's other cells lose
// their versions, so the peer's next cell at col_version 1 wins too.
TEST_F(MergeRuleTest, LargerOddClOnALiveRowResetsTheOtherCellsVersions) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  for (int i = 0; i < 4; ++i) b_->Exec(absl::StrCat("UPDATE t SET a = 'x", i, "', b = 'y", i, "' WHERE id = 1"));
  ASSERT_EQ(Entry("a").col_version, 5);
  EXPECT_EQ(Merge({Incoming("b", Value::Text("B"), 1, 3)}), 1);
  EXPECT_EQ(Cl(), 3);
  EXPECT_EQ(b_->Rows("SELECT b FROM t WHERE id = 1"), std::vector<std::vector<std::string>>{{"'B'"}});
  EXPECT_EQ(Entry("b").col_version, 1);
  EXPECT_EQ(Merge({Incoming("a", Value::Text("A"), 1, 3)}), 1) << "a@5 of cl 1 lost its version";
  EXPECT_EQ(Row1(), std::vector<std::string>{"1|'A'|'B'"});
  EXPECT_EQ(Hex(Entry("a").site), Hex(s_));
}

// Rule 4: equal cl, the higher col_version wins even with a smaller value.
TEST_F(MergeRuleTest, HigherColVersionWins) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  EXPECT_EQ(Merge({Incoming("a", Value::Text("a"), 2, 1)}), 1);
  EXPECT_EQ(Row1(), std::vector<std::string>{"1|'a'|'y'"});
  EXPECT_EQ(Entry("a").col_version, 2);
  EXPECT_EQ(Hex(Entry("a").site), Hex(s_));
  EXPECT_EQ(Hex(Entry("b").site), Hex(site_b_));
}

// Rule 4: equal cl, a lower col_version loses even with a greater value.
TEST_F(MergeRuleTest, LowerColVersionLoses) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  b_->Exec("UPDATE t SET a = 'x2' WHERE id = 1");
  b_->Exec("UPDATE t SET a = 'x3' WHERE id = 1");  // a@3
  const auto before = ChangeLines(*b_);
  EXPECT_EQ(Merge({Incoming("a", Value::Integer(999), 2, 1)}), 0);
  EXPECT_EQ(Row1(), std::vector<std::string>{"1|'x3'|'y'"});
  EXPECT_EQ(ChangeLines(*b_), before);
}

// Rule 5: equal col_version, the greater value wins; types order INTEGER >
// REAL > TEXT > BLOB > NULL, numbers compare numerically, text and blobs
// bytewise.
struct ValueCase {
  const char* name;
  const char* local;  // SQL literal written locally (a@1)
  Value incoming;     // arriving a@1
  bool incoming_wins;
};

// gtest prints the case by name (ctest lists it).
void PrintTo(const ValueCase& c, std::ostream* os) { *os << c.name; }

class ValueOrderTest : public MergeRuleTest, public ::testing::WithParamInterface<ValueCase> {};

TEST_P(ValueOrderTest, EqualColVersionGreaterValueWins) {
  const ValueCase& c = GetParam();
  b_->Exec(absl::StrCat("INSERT INTO t VALUES (1, ", c.local, ", 'y')"));
  const auto local = b_->Rows("SELECT a, typeof(a) FROM t");
  ASSERT_EQ(Entry("a").col_version, 1);
  int64_t impacted = Merge({Incoming("a", c.incoming, 1, 1)});
  auto now = b_->Values("SELECT a FROM t WHERE id = 1");
  ASSERT_EQ(now.size(), 1u);
  if (c.incoming_wins) {
    EXPECT_EQ(impacted, 1);
    EXPECT_EQ(ValueToString(now[0][0]), ValueToString(c.incoming));
    EXPECT_EQ(now[0][0].type, c.incoming.type);
    EXPECT_EQ(Hex(Entry("a").site), Hex(s_));
  } else {
    EXPECT_EQ(impacted, 0);
    EXPECT_EQ(b_->Rows("SELECT a, typeof(a) FROM t"), local);
    EXPECT_EQ(Hex(Entry("a").site), Hex(site_b_));
  }
}

INSTANTIATE_TEST_SUITE_P(
    MergeRule, ValueOrderTest,
    ::testing::Values(
        ValueCase{"IntegerOneBeatsRealOnePointFive", "1.5", Value::Integer(1), true},
        ValueCase{"RealOnePointFiveLosesToIntegerOne", "1", Value::Real(1.5), false},
        ValueCase{"IntegerBeatsEqualReal", "1.0", Value::Integer(1), true},
        ValueCase{"RealBeatsText", "'zzz'", Value::Real(0.5), true},
        ValueCase{"TextLosesToReal", "0.5", Value::Text("zzz"), false},
        ValueCase{"TextBeatsBlob", "X'FFFF'", Value::Text("a"), true},
        ValueCase{"BlobLosesToText", "'a'", Value::Blob("\xff\xff"), false},
        ValueCase{"BlobBeatsNull", "NULL", Value::Blob(std::string(1, '\0')), true},
        ValueCase{"NullLosesToBlob", "X'00'", Value::Null(), false},
        ValueCase{"NullLosesToInteger", "0", Value::Null(), false},
        ValueCase{"NullLosesToEmptyText", "''", Value::Null(), false},
        ValueCase{"GreaterTextWins", "'a'", Value::Text("b"), true},
        ValueCase{"SmallerTextLoses", "'b'", Value::Text("a"), false},
        ValueCase{"TextComparesBytewise", "'a'", Value::Text("B"), false},
        ValueCase{"LongerTextWithSamePrefixWins", "'ab'", Value::Text("abc"), true},
        ValueCase{"IntegersCompareNumerically", "9", Value::Integer(10), true},
        ValueCase{"NegativeIntegerLoses", "0", Value::Integer(-5), false},
        ValueCase{"RealsCompareNumerically", "2.5", Value::Real(10.25), true},
        ValueCase{"GreaterBlobWins", "X'01'", Value::Blob("\x02"), true},
        ValueCase{"BlobPrefixLoses", "X'0100'", Value::Blob("\x01"), false}),
    [](const ::testing::TestParamInfo<ValueCase>& info) { return std::string(info.param.name); });

// Rule 5: equal values change nothing (the cell keeps its site).
TEST_F(MergeRuleTest, EqualValuesChangeNothing) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  const auto before = ChangeLines(*b_);
  const int64_t events = EventCount(*b_);
  EXPECT_EQ(Merge({Incoming("a", Value::Text("x"), 1, 1)}), 0);
  Change high = Incoming("a", Value::Text("x"), 1, 1);
  high.site = FakeSite(0xff);
  EXPECT_EQ(Merge({high}), 0) << "merge-equal-values is off by default";
  EXPECT_EQ(ChangeLines(*b_), before);
  EXPECT_EQ(EventCount(*b_), events);
}

// Rule 5 with merge-equal-values = 1: on equal values the bytewise greater
// site wins; a smaller site still changes nothing.
TEST_F(MergeRuleTest, EqualValuesWithMergeEqualValuesGreaterSiteWins) {
  b_->Exec("SELECT crsql_config_set('merge-equal-values', 1)");
  EXPECT_EQ(b_->Int("SELECT crsql_config_get('merge-equal-values')"), 1);
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  ASSERT_LT(FakeSite(0x00), site_b_);
  ASSERT_GT(FakeSite(0xff), site_b_);
  Change low = Incoming("a", Value::Text("x"), 1, 1);
  low.site = FakeSite(0x00);
  EXPECT_EQ(Merge({low}), 0);
  EXPECT_EQ(Hex(Entry("a").site), Hex(site_b_)) << "a smaller site lost";
  Change high = Incoming("a", Value::Text("x"), 1, 1, /*seq=*/4);
  high.site = FakeSite(0xff);
  EXPECT_EQ(Merge({high}), 1);
  EXPECT_EQ(Hex(Entry("a").site), Hex(FakeSite(0xff)));
  EXPECT_EQ(Entry("a").seq, 4);
  EXPECT_EQ(Row1(), std::vector<std::string>{"1|'x'|'y'"});
}

// A merged cell keeps the incoming col_version, site_id and seq; its
// db_version is the receiver's.
TEST_F(MergeRuleTest, MergedCellKeepsIncomingColVersionSiteAndSeq) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  const int64_t before = DbVersion(*b_);
  Change in = Incoming("a", Value::Text("new"), 7, 1, /*seq=*/3);
  in.db_version = 1;
  EXPECT_EQ(Merge({in}), 1);
  Change a = Entry("a");
  EXPECT_EQ(a.col_version, 7);
  EXPECT_EQ(Hex(a.site), Hex(s_));
  EXPECT_EQ(a.seq, 3);
  EXPECT_EQ(a.cl, 1);
  EXPECT_GT(a.db_version, before) << "the receiver's db_version, above its own history";
  EXPECT_EQ(a.db_version, DbVersion(*b_));
  // A local write of the cell continues from the merged version.
  b_->Exec("UPDATE t SET a = 'mine' WHERE id = 1");
  EXPECT_EQ(Entry("a").col_version, 8);
  EXPECT_EQ(Hex(Entry("a").site), Hex(site_b_));
}

// A delete travels as the row's '-1' entry with even cl and no value.
TEST_F(MergeSqlTest, DeleteArrivesAsSentinelWithEvenCl) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 'y'), (2, 'keep', 'me')");
  SyncCursor ab;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  ASSERT_EQ(TableLines(*b, "t").size(), 2u);
  a->Exec("DELETE FROM t WHERE id = 1");
  auto sent = SelectChanges(*a, "WHERE db_version > ? AND site_id IS NOT ?",
                            {Value::Integer(ab.last), Value::Blob(SiteOf(*b))});
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].cid, "-1");
  EXPECT_EQ(sent[0].pk, PkInt(1));
  EXPECT_EQ(sent[0].cl, 2);
  EXPECT_TRUE(sent[0].val.is_null());
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  EXPECT_EQ(TableLines(*b, "t"), std::vector<std::string>{"2|'keep'|'me'"});
  auto held = SelectChanges(*b, "WHERE pk = X'010901'");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].cid, "-1");
  EXPECT_EQ(held[0].cl, 2);
  EXPECT_EQ(Hex(held[0].site), Hex(SiteOf(*a)));
}

// A row whose columns are all pk travels as a '-1' entry with odd cl.
TEST_F(MergeSqlTest, AllPkRowArrivesAsSentinelWithOddCl) {
  constexpr std::string_view kP = "CREATE TABLE p(x NOT NULL, y NOT NULL, PRIMARY KEY(x, y))";
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kP, "p");
  MakeCrr(*b, kP, "p");
  a->Exec("INSERT INTO p VALUES (1, 'q')");
  auto sent = SelectChanges(*a);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].cid, "-1");
  EXPECT_EQ(sent[0].cl, 1);
  EXPECT_EQ(sent[0].col_version, 1);
  EXPECT_EQ(sent[0].pk, Pk({Value::Integer(1), Value::Text("q")}));
  SyncCursor ab;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  EXPECT_EQ(TableLines(*b, "p"), std::vector<std::string>{"1|'q'"});
  EXPECT_EQ(ChangeLines(*b), ChangeLines(*a));
  // A hand-made one from another site creates its row too.
  Change c{"p", Pk({Value::Integer(2), Value::Text("r")}), "-1", Value::Null(), 1, 3, FakeSite(0xee), 1, 0};
  ASSERT_EQ(ApplyBatch(*b, {c}), "");
  EXPECT_EQ(TableLines(*b, "p"), (std::vector<std::string>{"1|'q'", "2|'r'"}));
  // And its delete, cl 2, removes it.
  c.cl = 2;
  c.col_version = 2;
  ASSERT_EQ(ApplyBatch(*b, {c}), "");
  EXPECT_EQ(TableLines(*b, "p"), std::vector<std::string>{"1|'q'"});
}

// crsql_rows_impacted() counts the inserted changes that changed something
// in the open transaction, and is 0 after it.
TEST_F(MergeRuleTest, RowsImpactedCountsChangesThatTookEffect) {
  b_->Exec("INSERT INTO t VALUES (1, 'x', 'y')");
  b_->Exec("UPDATE t SET b = 'y2' WHERE id = 1");  // b@2
  EXPECT_EQ(RowsImpacted(*b_), 0) << "outside a transaction";
  ASSERT_EQ(b_->Try("BEGIN"), "");
  EXPECT_EQ(RowsImpacted(*b_), 0);
  ASSERT_EQ(InsertChange(*b_, Incoming("a", Value::Text("wins"), 2, 1)), "");
  EXPECT_EQ(RowsImpacted(*b_), 1);
  ASSERT_EQ(InsertChange(*b_, Incoming("b", Value::Text("loses"), 1, 1)), "");
  EXPECT_EQ(RowsImpacted(*b_), 1) << "a losing change impacts nothing";
  Change row2{"t", PkInt(2), "a", Value::Text("new row"), 1, 7, s_, 1, 1};
  ASSERT_EQ(InsertChange(*b_, row2), "");
  row2.cid = "b";
  row2.val = Value::Integer(2);
  ASSERT_EQ(InsertChange(*b_, row2), "");
  EXPECT_EQ(RowsImpacted(*b_), 3);
  ASSERT_EQ(b_->Try("COMMIT"), "");
  EXPECT_EQ(RowsImpacted(*b_), 0) << "after COMMIT";
  EXPECT_EQ(Row1().size(), 2u);
}

// Re-sending changes already held impacts nothing.
TEST_F(MergeRuleTest, RowsImpactedIsZeroForResend) {
  std::vector<Change> batch = {Incoming("a", Value::Text("p"), 1, 1), Incoming("b", Value::Text("q"), 1, 1, 1)};
  EXPECT_EQ(Merge(batch), 2);
  EXPECT_EQ(Merge(batch), 0);
  EXPECT_EQ(Row1(), std::vector<std::string>{"1|'p'|'q'"});
}

}  // namespace
}  // namespace crlog::merge_sql_test
