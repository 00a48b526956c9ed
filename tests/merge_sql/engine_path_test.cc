// The engine path (crlog_export / crlog_apply: log to log) against the SQL
// path (the crsql_changes sync loop): the same history reaches the same
// tables either way; a bundle applied twice adds nothing; a damaged bundle
// is refused and changes nothing.
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "util/varint.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

constexpr std::string_view kT = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)";
constexpr std::string_view kP = "CREATE TABLE p(x NOT NULL, y NOT NULL, PRIMARY KEY(x, y))";

void MakeSchema(Db& db) {
  MakeCrr(db, kT, "t");
  MakeCrr(db, kP, "p");
}

// Inserts, updates, deletes and a row brought back, over several transactions.
void WriteHistory(Db& a) {
  a.Exec("INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2.5), (3, X'03', NULL)");
  a.Exec("INSERT INTO p VALUES (1, 'q'), (2, 'r')");
  a.Exec("UPDATE t SET a = 'uno' WHERE id = 1");
  a.Exec("BEGIN; UPDATE t SET b = b + 1 WHERE id = 2; DELETE FROM t WHERE id = 3; COMMIT;");
  a.Exec("DELETE FROM p WHERE x = 2");
  a.Exec("INSERT INTO t VALUES (3, 'three again', 33)");
  a.Exec("UPDATE t SET a = NULL, b = 'bee' WHERE id = 1");
  a.Exec("INSERT INTO t VALUES (4, 'four', 4)");
  a.Exec("DELETE FROM t WHERE id = 4");
}

std::string Export(Db& db) {
  Value v = db.One("SELECT crlog_export()");
  EXPECT_EQ(v.type, ValueType::kBlob) << "crlog_export() returns a BLOB";
  return v.bytes;
}

// SELECT crlog_apply(bundle): the number of events added, or the error.
struct ApplyResult {
  int64_t added = -1;
  std::string error;
};
ApplyResult Apply(Db& db, const std::string& bundle) {
  ApplyResult r;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), "SELECT crlog_apply(?)", -1, &stmt, nullptr) != SQLITE_OK) {
    r.error = sqlite3_errmsg(db.get());
    return r;
  }
  sqlite3_bind_blob(stmt, 1, bundle.data(), static_cast<int>(bundle.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    r.added = sqlite3_column_int64(stmt, 0);
  } else {
    r.error = sqlite3_errmsg(db.get());
    if (r.error.empty()) r.error = sqlite3_errstr(rc);
  }
  sqlite3_finalize(stmt);
  return r;
}

// The offset and size of the first event inside `bundle`.
bool FirstEvent(const std::string& bundle, size_t* offset, size_t* size) {
  std::string_view in = bundle;
  uint64_t n = 0;
  if (!util::GetVarint(&in, &n) || n > in.size()) return false;
  *offset = bundle.size() - in.size();
  *size = n;
  return true;
}

TEST_F(MergeSqlTest, EnginePathAndSqlPathGiveTheSameTables) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  for (Db* db : {a.get(), b.get(), c.get()}) MakeSchema(*db);
  WriteHistory(*a);
  const int64_t a_events = EventCount(*a);
  ASSERT_GT(a_events, 5);

  ApplyResult applied = Apply(*b, Export(*a));
  ASSERT_EQ(applied.error, "");
  EXPECT_EQ(applied.added, a_events) << "B lacked every event of A";
  SyncCursor ac;
  ASSERT_EQ(SyncOnce(*a, *c, &ac), "");

  for (const char* table : {"t", "p"}) {
    SCOPED_TRACE(table);
    EXPECT_EQ(TableLines(*b, table), TableLines(*c, table));
    EXPECT_EQ(TableLines(*b, table), TableLines(*a, table));
  }
  EXPECT_EQ(TableLines(*b, "t"),
            (std::vector<std::string>{"1|NULL|'bee'", "2|'two'|3.5", "3|'three again'|33"}));
  EXPECT_EQ(ChangeLines(*b), ChangeLines(*a)) << "the engine path keeps A's sites, versions and cls";
  EXPECT_EQ(ChangeLines(*c), ChangeLines(*a));
  EXPECT_EQ(EventCount(*b, "change"), EventCount(*a, "change"));
}

TEST_F(MergeSqlTest, ApplyingTheSameBundleTwiceAddsNothing) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeSchema(*a);
  MakeSchema(*b);
  WriteHistory(*a);
  const std::string bundle = Export(*a);
  ASSERT_EQ(Apply(*b, bundle).error, "");
  const int64_t events = EventCount(*b);
  const auto table = TableLines(*b, "t");
  const auto changes = ChangeLines(*b);
  const int64_t version = DbVersion(*b);
  ApplyResult again = Apply(*b, bundle);
  ASSERT_EQ(again.error, "");
  EXPECT_EQ(again.added, 0);
  EXPECT_EQ(EventCount(*b), events);
  EXPECT_EQ(TableLines(*b, "t"), table);
  EXPECT_EQ(ChangeLines(*b), changes);
  EXPECT_EQ(DbVersion(*b), version);
  // A later write on A, exported again: only it is added.
  a->Exec("UPDATE t SET a = 'later' WHERE id = 2");
  ApplyResult more = Apply(*b, Export(*a));
  ASSERT_EQ(more.error, "");
  EXPECT_EQ(more.added, 1);
  EXPECT_EQ(TableLines(*b, "t"), TableLines(*a, "t"));
}

TEST_F(MergeSqlTest, BundleWithAFlippedByteIsRefused) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeSchema(*a);
  MakeSchema(*b);
  WriteHistory(*a);
  b->Exec("INSERT INTO t VALUES (9, 'b own', 9)");
  const std::string bundle = Export(*a);
  size_t offset = 0, size = 0;
  ASSERT_TRUE(FirstEvent(bundle, &offset, &size)) << "bundle: varint length, then the event";
  ASSERT_LT(offset + size, bundle.size()) << "more than one event";

  auto expect_refused = [&](size_t at, const char* where) {
    SCOPED_TRACE(absl::StrCat("byte ", at, " flipped (", where, ")"));
    std::string bad = bundle;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    const auto table = TableLines(*b, "t");
    const auto changes = ChangeLines(*b);
    const int64_t events = EventCount(*b);
    ApplyResult r = Apply(*b, bad);
    EXPECT_NE(r.error, "") << "a damaged bundle was applied, adding " << r.added;
    EXPECT_TRUE(sqlite3_get_autocommit(b->get()));
    EXPECT_EQ(TableLines(*b, "t"), table);
    EXPECT_EQ(ChangeLines(*b), changes);
    EXPECT_EQ(EventCount(*b), events);
  };
  // A fresh B: the damaged first event no longer hashes to the parent the
  // second names; a damaged length garbles the framing.
  expect_refused(offset + size / 2, "inside the first event");
  expect_refused(offset + 1, "start of the first event");
  expect_refused(0, "the first length");
  EXPECT_EQ(TableLines(*b, "t"), std::vector<std::string>{"9|'b own'|9"});

  // The good bundle still applies; then the damaged one is another event
  // claiming A's first (site, seq), and is refused too.
  ASSERT_EQ(Apply(*b, bundle).error, "");
  expect_refused(offset + size / 2, "inside the first event, B holding it");
}


// C got A's events, then both wrote; C's bundle relays A's older events
// with C's new ones. Applying it on A adds C's events and leaves A's own
// history alone: A's next local write commits.
TEST_F(MergeSqlTest, ApplyingABundleThatRelaysOurOwnEventsKeepsLocalWritesWorking) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(c, "c.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*c, kT, "t");
  ASSERT_EQ(Apply(*c, Export(*a)).error, "");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  c->Exec("INSERT INTO t VALUES (2, 'y', 2)");
  ApplyResult r = Apply(*a, Export(*c));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(a->Try("INSERT INTO t VALUES (3, 'z', 3)"), "") << "a local write after the apply";
  EXPECT_EQ(ApplyBatch(*a, {{"t", PkInt(4), "a", Value::Text("w"), 1, 1, FakeSite(0xee), 1, 0}}), "")
      << "a merge after the apply";
  EXPECT_EQ(TableLines(*a, "t"),
            (std::vector<std::string>{"1|'x'|1", "2|'y'|2", "3|'z'|3", "4|'w'|NULL"}));
}

// A change B holds from the engine path is not imported again when it
// arrives through crsql_changes (relayed by C): no new event, no effect.
TEST_F(MergeSqlTest, ChangeHeldFromTheEnginePathIsNotImportedAgain) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  for (Db* db : {a.get(), b.get(), c.get()}) MakeSchema(*db);
  WriteHistory(*a);
  ASSERT_EQ(Apply(*b, Export(*a)).error, "");
  SyncCursor ac, cb;
  ASSERT_EQ(SyncOnce(*a, *c, &ac), "");
  const int64_t events = EventCount(*b);
  const auto changes = ChangeLines(*b);
  ASSERT_EQ(b->Try("BEGIN"), "");
  for (const Change& ch : SelectChanges(*c, "WHERE site_id IS NOT ?", {Value::Blob(SiteOf(*b))})) {
    ASSERT_EQ(InsertChange(*b, ch), "") << Describe(ch);
  }
  EXPECT_EQ(RowsImpacted(*b), 0);
  ASSERT_EQ(b->Try("COMMIT"), "");
  EXPECT_EQ(EventCount(*b), events);
  EXPECT_EQ(ChangeLines(*b), changes);
  (void)cb;
}

// Changes that reached a replica by the engine path are relayed by the
// crsql_changes sync loop: they show the receiver's db_version, above what
// a peer's cursor on it has already seen.
TEST_F(MergeSqlTest, EnginePathChangesAreRelayedBySyncLoop) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  for (Db* db : {a.get(), b.get(), c.get()}) MakeSchema(*db);
  for (int i = 0; i < 5; ++i) b->Exec(absl::StrCat("INSERT INTO t VALUES (", 100 + i, ", 'b', ", i, ")"));
  SyncCursor bc;
  ASSERT_EQ(SyncOnce(*b, *c, &bc), "");
  ASSERT_EQ(bc.last, 5);
  a->Exec("INSERT INTO t VALUES (1, 'from a', 1)");  // A's db_version 1
  ASSERT_EQ(Apply(*b, Export(*a)).error, "");
  auto on_b = SelectChanges(*b, "WHERE pk = X'010901'");
  ASSERT_EQ(on_b.size(), 2u);
  for (const Change& ch : on_b) {
    EXPECT_GT(ch.db_version, 5) << Describe(ch);
    EXPECT_EQ(Hex(ch.site), Hex(SiteOf(*a)));
  }
  ASSERT_EQ(SyncOnce(*b, *c, &bc), "");
  EXPECT_EQ(TableLines(*c, "t"), TableLines(*b, "t"));
}

// Three replicas, random local writes, and random syncs by either path
// (crsql_changes loop or crlog_export/crlog_apply) between random pairs;
// after a final round of the sync loop all three agree.
TEST_F(MergeSqlTest, RandomisedMixedPathsConverge) {
  const test_support::Seeds seeds(kSeedEnv, 1, 4);
  for (uint64_t seed64 : seeds) {
    const auto seed = static_cast<uint32_t>(seed64);
    test_support::SeedTrace trace(seeds, seed);
    TempDir dir;
    std::vector<std::unique_ptr<Db>> dbs;
    for (const char* name : {"a.db", "b.db", "c.db"}) {
      dbs.push_back(OpenReplica(dir.File(name)));
      ASSERT_TRUE(dbs.back()->loaded()) << dbs.back()->load_error();
      MakeSchema(*dbs.back());
      dbs.back()->Exec("SELECT crsql_config_set('merge-equal-values', 1)");
    }
    SyncCursor cursor[3][3];
    std::mt19937 rng(seed);
    std::vector<std::string> history;
    auto value = [&]() -> std::string {
      switch (rng() % 5) {
        case 0: return absl::StrCat(rng() % 3);
        case 1: return absl::StrCat(rng() % 3, ".5");
        case 2: return absl::StrCat("'", std::string(1, static_cast<char>('a' + rng() % 3)), "'");
        case 3: return absl::StrCat("X'0", rng() % 3, "'");
        default: return "NULL";
      }
    };
    auto dump = [&] { return absl::StrCat("seed ", seed, " history:\n", absl::StrJoin(history, "\n")); };
    for (int step = 0; step < 60; ++step) {
      size_t i = rng() % 3;
      Db& db = *dbs[i];
      const std::string name(1, static_cast<char>('A' + i));
      int64_t id = static_cast<int64_t>(rng() % 4);
      std::string sql;
      switch (rng() % 9) {
        case 0:
        case 1: sql = absl::StrCat("INSERT OR IGNORE INTO t VALUES (", id, ", ", value(), ", ", value(), ")"); break;
        case 2:
        case 3: sql = absl::StrCat("UPDATE t SET ", rng() % 2 ? "a" : "b", " = ", value(), " WHERE id = ", id); break;
        case 4: sql = absl::StrCat("DELETE FROM t WHERE id = ", id); break;
        case 5: sql = absl::StrCat("INSERT OR IGNORE INTO p VALUES (", id % 2, ", ", id, ")"); break;
        case 6: sql = absl::StrCat("DELETE FROM p WHERE y = ", id); break;
        default: {
          size_t j = (i + 1 + rng() % 2) % 3;
          if (rng() % 2) {
            history.push_back(absl::StrCat("sql sync ", name, "->", std::string(1, static_cast<char>('A' + j))));
            ASSERT_EQ(SyncOnce(db, *dbs[j], &cursor[i][j]), "") << dump();
          } else {
            history.push_back(absl::StrCat("engine apply ", name, "->", std::string(1, static_cast<char>('A' + j))));
            ApplyResult r = Apply(*dbs[j], Export(db));
            ASSERT_EQ(r.error, "") << dump();
          }
          continue;
        }
      }
      history.push_back(absl::StrCat(name, ": ", sql));
      ASSERT_EQ(db.Try(sql), "") << sql;
    }
    for (int round = 0; round < 3; ++round) {
      for (size_t i = 0; i < 3; ++i) {
        for (size_t j = 0; j < 3; ++j) {
          if (i == j) continue;
          ASSERT_EQ(SyncOnce(*dbs[i], *dbs[j], &cursor[i][j]), "") << dump();
        }
      }
    }
    for (size_t i = 1; i < 3; ++i) {
      SCOPED_TRACE(absl::StrCat("A vs ", std::string(1, static_cast<char>('A' + i))));
      EXPECT_EQ(TableLines(*dbs[0], "t"), TableLines(*dbs[i], "t")) << dump();
      EXPECT_EQ(TableLines(*dbs[0], "p"), TableLines(*dbs[i], "p")) << dump();
      EXPECT_EQ(ChangeLines(*dbs[0], true), ChangeLines(*dbs[i], true)) << dump();
    }
    if (HasFailure()) return;
  }
}

// A large bundle is folded with the capture triggers removed for speed; they
// must be back afterwards: local writes are still captured, and a
// connection without crlog still cannot write the table.
TEST_F(MergeSqlTest, LargeBundleLeavesCaptureInPlace) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  a->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
          "INSERT INTO t SELECT i, 'row ' || i, i FROM n");
  ApplyResult r = Apply(*b, Export(*a));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(b->One("SELECT count(*) FROM t").integer, 3000);
  EXPECT_EQ(b->One("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 't'").integer, 3);
  const int64_t before = EventCount(*b, "change");
  b->Exec("UPDATE t SET a = 'local' WHERE id = 7");
  EXPECT_EQ(EventCount(*b, "change"), before + 1) << "a local write after a large apply is captured";
  std::vector<Change> mine = SelectChanges(*b, "WHERE site_id = crsql_site_id()");
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].cid, "a");
  EXPECT_EQ(mine[0].col_version, 2);
}



// --- crlog_apply inside the caller's transaction ----------------------------
// The events stay pending until the transaction ends: rolled back means not
// applied, on this connection and on every later one.

TEST_F(MergeSqlTest, RolledBackApplyIsNotRolledForwardByTheNextConnection) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeSchema(*a);
  MakeSchema(*b);
  WriteHistory(*a);
  const std::string bundle = Export(*a);
  const int64_t events = EventCount(*b);
  b->Exec("BEGIN");
  ApplyResult r = Apply(*b, bundle);
  ASSERT_EQ(r.error, "");
  EXPECT_GT(r.added, 0);
  EXPECT_EQ(TableLines(*b, "t"), TableLines(*a, "t")) << "applied inside the transaction";
  EXPECT_FALSE(ChangeLines(*b).empty()) << "crsql_changes reads the applied events inside the transaction";
  b->Exec("ROLLBACK");
  EXPECT_TRUE(TableLines(*b, "t").empty());
  b.reset();
  OPEN_REPLICA(again, "b.db");
  EXPECT_TRUE(TableLines(*again, "t").empty()) << "the next connection rolled the events forward";
  EXPECT_EQ(EventCount(*again), events);
  EXPECT_EQ(VerifyInProcess(File("b.db")), "");
  ApplyResult later = Apply(*again, bundle);
  ASSERT_EQ(later.error, "");
  EXPECT_EQ(later.added, r.added) << "nothing of the rolled-back apply was kept";
  EXPECT_EQ(TableLines(*again, "t"), TableLines(*a, "t"));
}

TEST_F(MergeSqlTest, RollbackToASavepointUndoesTheApplyInsideIt) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeSchema(*a);
  MakeSchema(*b);
  WriteHistory(*a);
  const std::string bundle = Export(*a);
  b->Exec("BEGIN; SAVEPOINT before_apply;");
  ASSERT_EQ(Apply(*b, bundle).error, "");
  b->Exec("ROLLBACK TO before_apply; RELEASE before_apply;");
  b->Exec("INSERT INTO t VALUES (9, 'b own', 9)");
  b->Exec("COMMIT");
  b.reset();
  OPEN_REPLICA(again, "b.db");
  EXPECT_EQ(TableLines(*again, "t"), std::vector<std::string>{"9|'b own'|9"});
  EXPECT_EQ(VerifyInProcess(File("b.db")), "");
}

TEST_F(MergeSqlTest, ApplyThenLocalWritesInOneTransactionCommitTogether) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  MakeSchema(*a);
  MakeSchema(*b);
  MakeSchema(*c);
  a->Exec("INSERT INTO t VALUES (1, 'one', 1)");
  const std::string first = Export(*a);
  a->Exec("UPDATE t SET a = 'uno' WHERE id = 1");
  const std::string second = Export(*a);  // the first's events again, and one more
  b->Exec("BEGIN");
  ASSERT_EQ(Apply(*b, first).error, "");
  // The second bundle's new event names a parent the first left pending.
  ApplyResult more = Apply(*b, second);
  ASSERT_EQ(more.error, "");
  EXPECT_EQ(more.added, 1);
  b->Exec("INSERT INTO t VALUES (2, 'two', 2)");
  b->Exec("COMMIT");
  b.reset();
  OPEN_REPLICA(again, "b.db");
  EXPECT_EQ(TableLines(*again, "t"), (std::vector<std::string>{"1|'uno'|1", "2|'two'|2"}));
  EXPECT_EQ(VerifyInProcess(File("b.db")), "");
  // B's local event follows A's: a third replica takes all of it.
  ASSERT_EQ(Apply(*c, Export(*again)).error, "");
  EXPECT_EQ(TableLines(*c, "t"), TableLines(*again, "t"));
}

// The receiver's tables refuse a row (a CHECK constraint the sender lacks):
// the event is stored and held, not folded, with the row and the reason in
// crlog_held; the events behind it wait with it; everything else keeps
// syncing, and the database still opens and verifies.
TEST_F(MergeSqlTest, AnEventTheTablesRefuseIsHeldWithWhatDescendsFromIt) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, b INTEGER)", "t");
  MakeCrr(*b, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, b INTEGER CHECK (b < 100))", "t");
  MakeCrr(*c, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, b INTEGER)", "t");
  a->Exec("INSERT INTO t VALUES (1, 500)");
  const std::string refused = a->Bytes("SELECT hash FROM crlog_events WHERE kind = 'change'");
  a->Exec("INSERT INTO t VALUES (2, 5)");  // written after the refused row
  c->Exec("INSERT INTO t VALUES (3, 7)");
  const int64_t events = EventCount(*b);
  ApplyResult r = Apply(*b, Export(*a));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.added, 3) << "A's schema change and both writes are stored";
  EXPECT_EQ(EventCount(*b), events + 3);
  EXPECT_EQ(TableLines(*b, "t"), std::vector<std::string>{}) << "neither write of A is folded";
  EXPECT_EQ(b->Rows("SELECT lower(hex(event)) = lower(hex(cause)), tbl, pk = crsql_pack_columns(1), "
                    "reason LIKE '%CHECK constraint failed%', reason LIKE '%table ''t'', row (1)%' "
                    "FROM crlog_held ORDER BY rowid"),
            (std::vector<std::vector<std::string>>{{"1", "'t'", "1", "1", "1"}, {"0", "NULL", "NULL", "0", "0"}}));
  EXPECT_EQ(b->Int("SELECT count(*) FROM crlog_held WHERE lower(hex(cause)) = lower('" + refused + "')"), 2)
      << "both wait behind the refused event";
  // A third site's write keeps syncing, and so do B's own.
  ASSERT_EQ(Apply(*b, Export(*c)).error, "");
  b->Exec("INSERT INTO t VALUES (4, 8)");
  EXPECT_EQ(TableLines(*b, "t"), (std::vector<std::string>{"3|7", "4|8"}));
  b.reset();
  OPEN_REPLICA(again, "b.db");  // used to fail at every load from then on
  EXPECT_EQ(TableLines(*again, "t"), (std::vector<std::string>{"3|7", "4|8"}));
  EXPECT_EQ(again->Int("SELECT count(*) FROM crlog_held"), 2);
  EXPECT_EQ(VerifyInProcess(File("b.db")), "");
  // Replay of B's log holds what B's tables hold, as B's fold did.
  ASSERT_EQ(again->Try("SELECT crlog_replay('head', '" + File("replayed.db") + "')"), "");
  {
    Db replayed(File("replayed.db"), /*load_extension=*/false);
    EXPECT_EQ(replayed.Rows("SELECT * FROM t ORDER BY id"),
              (std::vector<std::vector<std::string>>{{"3", "7"}, {"4", "8"}}));
  }
  // B passes on what it holds: a replica without the constraint takes all.
  OPEN_REPLICA(d, "d.db");
  MakeCrr(*d, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, b INTEGER)", "t");
  ASSERT_EQ(Apply(*d, Export(*again)).error, "");
  EXPECT_EQ(TableLines(*d, "t"), (std::vector<std::string>{"1|500", "2|5", "3|7", "4|8"}));
  EXPECT_EQ(d->Int("SELECT count(*) FROM crlog_held"), 0);
}

// A later event of the same site, sent in a later bundle, waits behind the
// held one too; once the application stops refusing, crlog_retry_held folds
// them all, in order.
TEST_F(MergeSqlTest, HeldEventsFoldWhenRetriedAfterTheRefusalIsGone) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, b INTEGER)", "t");
  MakeCrr(*b, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, b INTEGER)", "t");
  b->Exec("CREATE TRIGGER no_big BEFORE INSERT ON t WHEN NEW.b > 100 BEGIN SELECT RAISE(ABORT, 'too big'); END");
  a->Exec("INSERT INTO t VALUES (1, 500)");
  ASSERT_EQ(Apply(*b, Export(*a)).error, "");
  a->Exec("UPDATE t SET b = 501 WHERE id = 1");
  a->Exec("INSERT INTO t VALUES (2, 5)");
  ASSERT_EQ(Apply(*b, Export(*a)).error, "");
  EXPECT_EQ(TableLines(*b, "t"), std::vector<std::string>{});
  EXPECT_EQ(b->Int("SELECT count(*) FROM crlog_held"), 3);
  EXPECT_EQ(b->Int("SELECT crlog_retry_held()"), 0) << "still refused: nothing folds";
  EXPECT_EQ(b->Int("SELECT count(*) FROM crlog_held"), 3);
  b->Exec("DROP TRIGGER no_big");
  EXPECT_EQ(b->Int("SELECT crlog_retry_held()"), 3);
  EXPECT_EQ(b->Int("SELECT count(*) FROM crlog_held"), 0);
  EXPECT_EQ(TableLines(*b, "t"), (std::vector<std::string>{"1|501", "2|5"}));
  EXPECT_EQ(ChangeLines(*b), ChangeLines(*a));
  EXPECT_EQ(VerifyInProcess(File("b.db")), "");
}

}  // namespace
}  // namespace crlog::merge_sql_test
