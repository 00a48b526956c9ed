// Bad input in a batch (common.md, "Bad input in a batch"): good changes,
// then one bad one, in one transaction. The bad INSERT fails with a message
// naming what is wrong, the transaction is poisoned, COMMIT fails and rolls
// back, and nothing of the batch is left in the table, in crsql_changes or
// in the log. ROLLBACK works too, and so does a single multi-row INSERT ...
// SELECT. A column the table lacks is kept by default (and applied after
// ALTER TABLE), and is an error with crlog-strict-columns = 1.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kItems = "CREATE TABLE items(item_key INTEGER PRIMARY KEY NOT NULL, label, qty)";

constexpr std::string_view kInsert =
    "INSERT INTO crsql_changes (\"table\", pk, cid, val, col_version, db_version, site_id, cl, seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

enum Field { kTable, kPk, kCid, kVal, kColVersion, kDbVersion, kSiteId, kCl, kSeq };

Params ToParams(const Change& c) {
  return {Value::Text(c.table), Value::Blob(c.pk), Value::Text(c.cid), c.val, Value::Integer(c.col_version),
          Value::Integer(c.db_version), Value::Blob(c.site), Value::Integer(c.cl), Value::Integer(c.seq)};
}

class BadBatchTest : public MergeSqlTest {
 protected:
  void SetUp() override {
    b_ = OpenReplica(File("b.db"));
    ASSERT_TRUE(b_->loaded()) << b_->load_error();
    MakeCrr(*b_, kItems, "items");
    b_->Exec("INSERT INTO items VALUES (1, 'one', 1), (2, 'two', 2)");
    Snapshot();
  }

  void Snapshot() {
    table_ = TableLines(*b_, "items");
    changes_ = ChangeLines(*b_);
    events_ = EventCount(*b_);
    version_ = DbVersion(*b_);
  }

  // Nothing of a refused batch stayed.
  void ExpectUnchanged() {
    EXPECT_TRUE(sqlite3_get_autocommit(b_->get())) << "the transaction is still open";
    EXPECT_EQ(TableLines(*b_, "items"), table_);
    EXPECT_EQ(ChangeLines(*b_), changes_);
    EXPECT_EQ(EventCount(*b_), events_);
    EXPECT_EQ(DbVersion(*b_), version_);
    EXPECT_EQ(RowsImpacted(*b_), 0);
  }

  // Good changes that win: a new row 5, and a newer label for row 1.
  std::vector<Change> Good() {
    return {{"items", PkInt(5), "label", Value::Text("five"), 1, 3, site_, 1, 0},
            {"items", PkInt(5), "qty", Value::Integer(5), 1, 3, site_, 1, 1},
            {"items", PkInt(1), "label", Value::Text("uno"), 9, 3, site_, 1, 2}};
  }
  // A bad change: Good()[0] with one field replaced.
  Params Bad(Field field, Value v) {
    Params p = ToParams(Good()[0]);
    p[field] = std::move(v);
    return p;
  }

  // Good changes, then `bad`: the bad INSERT fails naming `culprit`, COMMIT
  // fails, and nothing stays. A good batch afterwards is merged normally.
  void ExpectBatchRefused(const Params& bad, std::string_view culprit) {
    ASSERT_EQ(b_->Try("BEGIN"), "");
    for (const Change& c : Good()) ASSERT_EQ(InsertChange(*b_, c), "") << Describe(c);
    EXPECT_EQ(RowsImpacted(*b_), 3);
    std::string err = Execute(*b_, kInsert, bad);
    EXPECT_THAT(err, HasSubstr(std::string(culprit))) << "the bad change's error names its fault";
    std::string commit = b_->Try("COMMIT");
    EXPECT_NE(commit, "") << "COMMIT of a poisoned transaction succeeded";
    if (!sqlite3_get_autocommit(b_->get())) {
      ADD_FAILURE() << "the failed COMMIT left the transaction open";
      b_->Try("ROLLBACK");
    }
    ExpectUnchanged();
    // The poison does not outlive the transaction.
    ASSERT_EQ(ApplyBatch(*b_, Good()), "");
    EXPECT_EQ(TableLines(*b_, "items"), (std::vector<std::string>{"1|'uno'|1", "2|'two'|2", "5|'five'|5"}));
    EXPECT_EQ(EventCount(*b_, "import"), 1);
  }

  std::unique_ptr<Db> b_;
  std::string site_ = FakeSite(0xee);
  std::vector<std::string> table_, changes_;
  int64_t events_ = 0, version_ = 0;
};

TEST_F(BadBatchTest, UnknownTableRefusesTheBatch) {
  ExpectBatchRefused(Bad(kTable, Value::Text("nosuch_table")), "nosuch_table");
}

TEST_F(BadBatchTest, MalformedPkBlobRefusesTheBatch) {
  // One column, a 1-byte integer, but no payload byte.
  ExpectBatchRefused(Bad(kPk, Value::Blob(std::string("\x01\x09", 2))), "items");
}

TEST_F(BadBatchTest, PkNotABlobRefusesTheBatch) {
  ExpectBatchRefused(Bad(kPk, Value::Integer(5)), "items");
}

TEST_F(BadBatchTest, PkWithWrongColumnCountRefusesTheBatch) {
  ExpectBatchRefused(Bad(kPk, Value::Blob(Pk({Value::Integer(5), Value::Integer(6)}))), "items");
}

// A pk the table would store as another value would give the row a second
// identity that crsql_changes lists apart (or, NULL, a fresh rowid that it
// never lists).
TEST_F(BadBatchTest, NullPkRefusesTheBatch) {
  ExpectBatchRefused(Bad(kPk, Value::Blob(Pk({Value::Null()}))), "pk column 'item_key' is NULL");
}

TEST_F(BadBatchTest, TextPkForAnIntegerColumnRefusesTheBatch) {
  ExpectBatchRefused(Bad(kPk, Value::Blob(Pk({Value::Text("5")}))), "pk column 'item_key' (INTEGER affinity)");
}

TEST_F(BadBatchTest, WholeRealPkForAnIntegerColumnRefusesTheBatch) {
  ExpectBatchRefused(Bad(kPk, Value::Blob(Pk({Value::Real(5.0)}))), "pk column 'item_key'");
}

TEST_F(BadBatchTest, IntegerPkForATextColumnIsRefusedAndTheRowKeepsOneIdentity) {
  MakeCrr(*b_, "CREATE TABLE tags(name TEXT PRIMARY KEY NOT NULL, n)", "tags");
  std::string err = InsertChange(*b_, {"tags", Pk({Value::Integer(2)}), "n", Value::Integer(1), 1, 1, site_, 1, 0});
  EXPECT_THAT(err, HasSubstr("pk column 'name' (TEXT affinity) is given 2"));
  // Packed as the table stores it, the same row merges and a local update
  // keeps it under one pk.
  ASSERT_EQ(ApplyBatch(*b_, {{"tags", Pk({Value::Text("2")}), "n", Value::Integer(1), 1, 1, site_, 1, 0}}), "");
  b_->Exec("UPDATE tags SET n = 5 WHERE name = '2'");
  EXPECT_EQ(Query(*b_, "SELECT count(DISTINCT pk) FROM crsql_changes WHERE \"table\" = 'tags'")[0][0].integer, 1);
}

TEST_F(BadBatchTest, TextColVersionRefusesTheBatch) {
  ExpectBatchRefused(Bad(kColVersion, Value::Text("abc")), "col_version");
}

TEST_F(BadBatchTest, TextClRefusesTheBatch) { ExpectBatchRefused(Bad(kCl, Value::Text("abc")), "cl"); }

TEST_F(BadBatchTest, TextSeqRefusesTheBatch) { ExpectBatchRefused(Bad(kSeq, Value::Text("abc")), "seq"); }

TEST_F(BadBatchTest, TextDbVersionRefusesTheBatch) {
  ExpectBatchRefused(Bad(kDbVersion, Value::Text("abc")), "db_version");
}

TEST_F(BadBatchTest, SiteIdOfThreeBytesRefusesTheBatch) {
  ExpectBatchRefused(Bad(kSiteId, Value::Blob("\x01\x02\x03")), "site_id");
}

TEST_F(BadBatchTest, CidNamingAPkColumnRefusesTheBatch) {
  ExpectBatchRefused(Bad(kCid, Value::Text("item_key")), "item_key");
}

TEST_F(BadBatchTest, UnknownColumnRefusesTheBatchWhenStrict) {
  b_->Exec("SELECT crsql_config_set('crlog-strict-columns', 1)");
  EXPECT_EQ(b_->Int("SELECT crsql_config_get('crlog-strict-columns')"), 1);
  ExpectBatchRefused(Bad(kCid, Value::Text("extra_col")), "extra_col");
}

// ROLLBACK after the bad change leaves nothing either.
TEST_F(BadBatchTest, RollbackAfterABadChangeLeavesNothing) {
  ASSERT_EQ(b_->Try("BEGIN"), "");
  for (const Change& c : Good()) ASSERT_EQ(InsertChange(*b_, c), "");
  EXPECT_NE(Execute(*b_, kInsert, Bad(kTable, Value::Text("nosuch_table"))), "");
  ASSERT_EQ(b_->Try("ROLLBACK"), "");
  ExpectUnchanged();
}

// A rolled-back batch of good changes leaves nothing, and can be sent again.
TEST_F(BadBatchTest, RollbackOfAGoodBatchLeavesNothing) {
  ASSERT_EQ(b_->Try("BEGIN"), "");
  for (const Change& c : Good()) ASSERT_EQ(InsertChange(*b_, c), "");
  ASSERT_EQ(b_->Try("ROLLBACK"), "");
  ExpectUnchanged();
  ASSERT_EQ(ApplyBatch(*b_, Good()), "");
  EXPECT_EQ(TableLines(*b_, "items"), (std::vector<std::string>{"1|'uno'|1", "2|'two'|2", "5|'five'|5"}));
}

// One INSERT INTO crsql_changes SELECT ... of three rows, the last bad, in
// autocommit: the statement fails and none of its rows stay.
TEST_F(BadBatchTest, MultiRowInsertSelectWithOneBadRowLeavesNothing) {
  const std::string site = absl::StrCat("X'", Hex(site_), "'");
  const std::string sql = absl::StrCat(
      "INSERT INTO crsql_changes (\"table\", pk, cid, val, col_version, db_version, site_id, cl, seq) "
      "SELECT * FROM (VALUES "
      "('items', X'010905', 'label', 'five', 1, 3, ", site, ", 1, 0), "
      "('items', X'010901', 'label', 'uno', 9, 3, ", site, ", 1, 1), "
      "('items', X'010906', 'label', 'six', 1, 3, X'010203', 1, 2))");
  std::string err = b_->Try(sql);
  EXPECT_THAT(err, HasSubstr("site_id"));
  ExpectUnchanged();
  // The same statement in an explicit transaction: COMMIT fails.
  ASSERT_EQ(b_->Try("BEGIN"), "");
  EXPECT_NE(b_->Try(sql), "");
  EXPECT_NE(b_->Try("COMMIT"), "") << "COMMIT after a failed multi-row INSERT succeeded";
  if (!sqlite3_get_autocommit(b_->get())) b_->Try("ROLLBACK");
  ExpectUnchanged();
}

}  // namespace
}  // namespace crlog::merge_sql_test
