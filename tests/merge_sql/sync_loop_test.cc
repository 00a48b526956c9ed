// The sync loop an app writes (crsql-compat.md, "Sync loop an app writes
// today") between crlog replicas: SELECT ... FROM crsql_changes WHERE
// db_version > ? AND site_id IS NOT ? on one side, one transaction of INSERT
// INTO crsql_changes on the other, in both directions, until both hold the
// same tables and the same crsql_changes. Also: the same changes arriving
// twice, or by two paths, are held once.
#include <algorithm>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

constexpr std::string_view kT = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)";
constexpr std::string_view kP = "CREATE TABLE p(x NOT NULL, y NOT NULL, PRIMARY KEY(x, y))";
constexpr std::string_view kC =
    "CREATE TABLE c(k TEXT NOT NULL, n INTEGER NOT NULL, v, PRIMARY KEY(k, n))";

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

void MakeSchema(Db& db) {
  MakeCrr(db, kT, "t");
  MakeCrr(db, kP, "p");
  MakeCrr(db, kC, "c");
}

// Syncs both ways until a round sends nothing; fails after `max_rounds`.
void SyncUntilQuiet(Db& a, Db& b, SyncCursor* a_to_b, SyncCursor* b_to_a, int max_rounds = 4) {
  for (int round = 0; round < max_rounds; ++round) {
    size_t sent_ab = 0, sent_ba = 0;
    ASSERT_EQ(SyncOnce(a, b, a_to_b, &sent_ab), "");
    ASSERT_EQ(SyncOnce(b, a, b_to_a, &sent_ba), "");
    if (sent_ab == 0 && sent_ba == 0) return;
  }
  FAIL() << "the sync loop still sends changes after " << max_rounds << " rounds";
}

TEST_F(MergeSqlTest, SyncLoopBothWaysConvergesTablesAndChanges) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeSchema(*a);
  MakeSchema(*b);
  SyncCursor a_to_b, b_to_a;

  // Round 1: disjoint inserts, values of every type.
  a->Exec("INSERT INTO t VALUES (1, 'one', 1), (2, 2.5, X'0203'), (3, NULL, 'three')");
  a->Exec("INSERT INTO p VALUES (1, 'q')");
  a->Exec("INSERT INTO c VALUES ('k', 1, 'v1'), ('k', 2, 'v2')");
  b->Exec("INSERT INTO t VALUES (10, 'ten', 10), (11, -11, 11.5)");
  b->Exec("INSERT INTO p VALUES (2, 'r')");
  ASSERT_EQ(SyncOnce(*a, *b, &a_to_b), "");
  ASSERT_EQ(SyncOnce(*b, *a, &b_to_a), "");
  EXPECT_EQ(TableLines(*b, "t"), TableLines(*a, "t"));

  // Round 2: updates, deletes, on rows the other side wrote too.
  a->Exec("UPDATE t SET a = 'uno' WHERE id = 1");
  a->Exec("DELETE FROM t WHERE id = 2");
  a->Exec("INSERT INTO t VALUES (12, 'twelve', NULL)");
  a->Exec("UPDATE c SET v = 'v1b' WHERE k = 'k' AND n = 1");
  b->Exec("UPDATE t SET b = 33 WHERE id = 3");
  b->Exec("DELETE FROM t WHERE id = 10");
  b->Exec("DELETE FROM p WHERE x = 1 AND y = 'q'");
  b->Exec("DELETE FROM c WHERE k = 'k' AND n = 2");
  ASSERT_EQ(SyncOnce(*a, *b, &a_to_b), "");
  ASSERT_EQ(SyncOnce(*b, *a, &b_to_a), "");

  // Round 3: rows come back, and more updates of cells the other side wrote.
  a->Exec("INSERT INTO t VALUES (2, 'two again', 22)");
  b->Exec("INSERT INTO t VALUES (10, 'ten again', 100)");
  b->Exec("UPDATE t SET b = 'bee' WHERE id = 1");
  a->Exec("UPDATE t SET b = 'ay' WHERE id = 11");
  b->Exec("INSERT INTO p VALUES (1, 'q')");
  SyncUntilQuiet(*a, *b, &a_to_b, &b_to_a);

  for (const char* table : {"t", "p", "c"}) {
    EXPECT_EQ(TableLines(*a, table), TableLines(*b, table)) << "table " << table;
  }
  EXPECT_EQ(ChangeLines(*a), ChangeLines(*b));
  EXPECT_EQ(TableLines(*a, "t"),
            Sorted({"1|'uno'|'bee'", "10|'ten again'|100", "11|-11|'ay'", "12|'twelve'|NULL",
                    "2|'two again'|22", "3|NULL|33"}));
  EXPECT_EQ(TableLines(*a, "p"), (std::vector<std::string>{"1|'q'", "2|'r'"}));
  EXPECT_EQ(TableLines(*a, "c"), (std::vector<std::string>{"'k'|1|'v1b'"}));
  // p(1,'q') was deleted on B and inserted again there: cl 3, B's site.
  auto p1 = SelectChanges(*a, "WHERE \"table\" = 'p' AND pk = ?", {Value::Blob(Pk({Value::Integer(1), Value::Text("q")}))});
  ASSERT_EQ(p1.size(), 1u);
  EXPECT_EQ(p1[0].cid, "-1");
  EXPECT_EQ(p1[0].cl, 3);
  EXPECT_EQ(Hex(p1[0].site), Hex(SiteOf(*b)));
}

// A value from a small pool of every type, so that equal values and type
// ties happen often.
Value RandomValue(std::mt19937& rng) {
  switch (rng() % 6) {
    case 0: return Value::Integer(static_cast<int64_t>(rng() % 3));
    case 1: return Value::Real(0.25 + 0.5 * static_cast<double>(rng() % 3));  // never integral
    case 2: return Value::Text(std::string(1, static_cast<char>('a' + rng() % 3)));
    case 3: return Value::Blob(std::string(1, static_cast<char>(rng() % 3)));
    case 4: return Value::Null();
    default: return Value::Integer(static_cast<int64_t>(rng() % 2));
  }
}

std::string Literal(const Value& v) { return ValueToString(v); }

// Random local writes on two replicas with syncs in between, in random
// directions; at the end both hold the same tables and the same
// crsql_changes. merge-equal-values is on so that equal values written on
// both sides settle on one site too; '-1' entries of rows deleted on both
// sides keep each side's own site (equal even cl: nothing to do), so those
// sites are not compared.
TEST_F(MergeSqlTest, RandomisedSyncLoopConverges) {
  const test_support::Seeds seeds(kSeedEnv, 1, 6);
  for (uint64_t seed64 : seeds) {
    const auto seed = static_cast<uint32_t>(seed64);
    test_support::SeedTrace trace(seeds, seed);
    TempDir dir;
    OPEN_REPLICA_AT(a, dir.File("a.db"));
    OPEN_REPLICA_AT(b, dir.File("b.db"));
    MakeSchema(*a);
    MakeSchema(*b);
    a->Exec("SELECT crsql_config_set('merge-equal-values', 1)");
    b->Exec("SELECT crsql_config_set('merge-equal-values', 1)");
    SyncCursor a_to_b, b_to_a;
    std::mt19937 rng(seed);
    std::vector<std::string> history;
    for (int step = 0; step < 60; ++step) {
      Db& db = rng() % 2 ? *a : *b;
      const char* side = &db == a.get() ? "A" : "B";
      int64_t id = static_cast<int64_t>(rng() % 5);
      std::string sql;
      switch (rng() % 7) {
        case 0:
        case 1:
          sql = absl::StrCat("INSERT OR IGNORE INTO t VALUES (", id, ", ", Literal(RandomValue(rng)), ", ",
                             Literal(RandomValue(rng)), ")");
          break;
        case 2:
        case 3:
          sql = absl::StrCat("UPDATE t SET ", rng() % 2 ? "a" : "b", " = ", Literal(RandomValue(rng)),
                             " WHERE id = ", id);
          break;
        case 4: sql = absl::StrCat("DELETE FROM t WHERE id = ", id); break;
        case 5: sql = absl::StrCat("INSERT OR IGNORE INTO p VALUES (", id % 2, ", ", id, ")"); break;
        default: sql = absl::StrCat("DELETE FROM p WHERE x = ", id % 2, " AND y = ", id); break;
      }
      history.push_back(absl::StrCat(side, ": ", sql));
      ASSERT_EQ(db.Try(sql), "") << sql;
      if (rng() % 4 == 0) {
        bool ab = rng() % 2;
        history.push_back(ab ? "sync A->B" : "sync B->A");
        ASSERT_EQ(ab ? SyncOnce(*a, *b, &a_to_b) : SyncOnce(*b, *a, &b_to_a), "")
            << absl::StrJoin(history, "\n");
      }
    }
    SyncUntilQuiet(*a, *b, &a_to_b, &b_to_a);
    EXPECT_EQ(TableLines(*a, "t"), TableLines(*b, "t")) << "history:\n" << absl::StrJoin(history, "\n");
    EXPECT_EQ(TableLines(*a, "p"), TableLines(*b, "p")) << "history:\n" << absl::StrJoin(history, "\n");
    EXPECT_EQ(ChangeLines(*a, true), ChangeLines(*b, true)) << "history:\n" << absl::StrJoin(history, "\n");
    if (HasFailure()) return;
  }
}

// The same batch twice: the second time changes nothing and records nothing.
TEST_F(MergeSqlTest, SameBatchTwiceHasNoSecondEffect) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)");
  a->Exec("UPDATE t SET a = 'x2' WHERE id = 1");
  a->Exec("DELETE FROM t WHERE id = 2");
  std::vector<Change> batch = SelectChanges(*a, "WHERE db_version > 0 AND site_id IS NOT ?", {Value::Blob(SiteOf(*b))});
  ASSERT_FALSE(batch.empty());
  ASSERT_EQ(ApplyBatch(*b, batch), "");
  const auto table = TableLines(*b, "t");
  const auto changes = ChangeLines(*b);
  const int64_t events = EventCount(*b);
  const int64_t version = DbVersion(*b);
  EXPECT_EQ(table, (std::vector<std::string>{"1|'x2'|1"}));

  ASSERT_EQ(b->Try("BEGIN"), "");
  for (const Change& c : batch) ASSERT_EQ(InsertChange(*b, c), "") << Describe(c);
  EXPECT_EQ(RowsImpacted(*b), 0);
  ASSERT_EQ(b->Try("COMMIT"), "");
  EXPECT_EQ(TableLines(*b, "t"), table);
  EXPECT_EQ(ChangeLines(*b), changes);
  EXPECT_EQ(EventCount(*b), events) << "a re-sent batch recorded an event";
  EXPECT_EQ(DbVersion(*b), version);
}

// A's change reaches B directly and again through C: B holds it once (one
// import event, one crsql_changes row per cell).
TEST_F(MergeSqlTest, SameChangeByTwoPathsIsStoredOnce) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  for (Db* db : {a.get(), b.get(), c.get()}) MakeCrr(*db, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  a->Exec("UPDATE t SET b = 2 WHERE id = 1");
  SyncCursor a_to_b, a_to_c;
  ASSERT_EQ(SyncOnce(*a, *b, &a_to_b), "");
  ASSERT_EQ(SyncOnce(*a, *c, &a_to_c), "");
  const int64_t events = EventCount(*b);
  const auto changes = ChangeLines(*b);
  EXPECT_EQ(EventCount(*b, "import"), 1);

  ASSERT_EQ(b->Try("BEGIN"), "");
  std::vector<Change> relayed = SelectChanges(*c, "WHERE db_version > 0 AND site_id IS NOT ?", {Value::Blob(SiteOf(*b))});
  ASSERT_EQ(relayed.size(), 2u) << "C relays A's two cells";
  for (const Change& ch : relayed) {
    EXPECT_EQ(Hex(ch.site), Hex(SiteOf(*a))) << Describe(ch);
    ASSERT_EQ(InsertChange(*b, ch), "");
  }
  EXPECT_EQ(RowsImpacted(*b), 0);
  ASSERT_EQ(b->Try("COMMIT"), "");
  EXPECT_EQ(EventCount(*b), events) << "the second path recorded A's change again";
  EXPECT_EQ(ChangeLines(*b), changes);
  EXPECT_EQ(b->Int("SELECT count(*) FROM crsql_changes WHERE pk = X'010901'"), 2);
}

// The sync loop's usual shape, merging a whole 20,000-row (about 20 MB)
// database in one transaction, used to be refused ("import event over the
// limit"): the import becomes an event group instead, which the engine path
// passes on whole and every replica folds alike.
TEST_F(MergeSqlTest, AMergeLargerThanOneEventBecomesAnImportGroup) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  for (Db* db : {a.get(), b.get(), c.get()}) {
    MakeCrr(*db, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, body TEXT)", "t");
  }
  a->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
          "INSERT INTO t SELECT i, printf('%.1000c', 'x') || i FROM n");
  SyncCursor cursor;
  ASSERT_EQ(SyncOnce(*a, *b, &cursor), "");
  EXPECT_GE(EventCount(*b, "import"), 2) << "one import would be over the 16 MiB limit";
  EXPECT_EQ(b->Int("SELECT count(*) FROM t"), 20000);
  EXPECT_EQ(ChangeLines(*b), ChangeLines(*a));
  // B's next local write follows every member.
  b->Exec("UPDATE t SET body = 'b' WHERE id = 1");
  Value bundle = b->One("SELECT crlog_export()");
  ASSERT_EQ(Execute(*c, "SELECT crlog_apply(?)", {Value::Blob(bundle.bytes)}), "");
  EXPECT_EQ(TableLines(*c, "t"), TableLines(*b, "t"));
  EXPECT_EQ(ChangeLines(*c), ChangeLines(*b));
  b.reset();
  OPEN_REPLICA(again, "b.db");
  EXPECT_EQ(again->Int("SELECT count(*) FROM t"), 20000);
  EXPECT_EQ(VerifyInProcess(File("b.db")), "");
  EXPECT_EQ(VerifyInProcess(File("c.db")), "");
}

}  // namespace
}  // namespace crlog::merge_sql_test
