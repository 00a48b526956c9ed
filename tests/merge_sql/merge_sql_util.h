// Helpers for the merge-through-SQL tests: replicas on real database files
// (capture_test_util's Db, the built crsqlite.so loaded by path), changes as
// crsql_changes carries them, INSERT INTO crsql_changes with bound values,
// the sync loop an app writes, and comparable renderings of tables and of
// crsql_changes.
#ifndef CRLOG_TESTS_MERGE_SQL_MERGE_SQL_UTIL_H_
#define CRLOG_TESTS_MERGE_SQL_MERGE_SQL_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "crlog/value.h"
#include "tests/capture/capture_test_util.h"
#include "tests/support/seeds.h"

namespace crlog::merge_sql_test {

using capture_test::Db;
using capture_test::TempDir;

// The randomised tests' seeds: MERGE_SQL_FIRST_SEED=<n> starts from n,
// MERGE_SQL_SEEDS=<count> runs that many.
inline constexpr test_support::SeedEnv kSeedEnv{"MERGE_SQL_FIRST_SEED", "MERGE_SQL_SEEDS",
                                                test_support::SeedEnv::FirstAlone::kKeepsTheCount};

// One row of crsql_changes, in its column order.
struct Change {
  std::string table;
  std::string pk;  // packed
  std::string cid;
  Value val;
  int64_t col_version = 1;
  int64_t db_version = 1;
  std::string site;  // 16 bytes
  int64_t cl = 1;
  int64_t seq = 0;
};

// "t(1) a=... @2 v9 site=ab12.. cl=1 seq=0", for failure messages.
std::string Describe(const Change& c);

// Values a statement binds, by position.
using Params = std::vector<Value>;

// Runs `sql` (one statement) with `params` to completion; "" or the error.
std::string Execute(Db& db, std::string_view sql, const Params& params = {});
// Every row of `sql` with `params` (a failure is a test failure).
std::vector<std::vector<Value>> Query(Db& db, std::string_view sql, const Params& params = {});

// The packed pk of one integer, e.g. 1 -> X'010901'.
std::string PkInt(int64_t v);
// The packed pk of `values`.
std::string Pk(const std::vector<Value>& values);
// 16 bytes of `fill`: a site id no real replica has.
std::string FakeSite(uint8_t fill);
std::string Hex(std::string_view bytes);

std::string SiteOf(Db& db);
int64_t DbVersion(Db& db);
int64_t RowsImpacted(Db& db);
// Number of published events of `kind` ('change', 'import', ...); "" counts all.
int64_t EventCount(Db& db, std::string_view kind = "");

// INSERT INTO crsql_changes of one change; "" or the error.
std::string InsertChange(Db& db, const Change& c);
// BEGIN; each change; COMMIT. On the first failure the transaction is
// rolled back (if SQLite left it open) and the error returned.
std::string ApplyBatch(Db& db, const std::vector<Change>& changes);

// SELECT every column of crsql_changes with `where` (e.g. "WHERE db_version
// > ?") and `params`.
std::vector<Change> SelectChanges(Db& db, std::string_view where = "", const Params& params = {});

// What one side of a sync has already received from the other.
struct SyncCursor {
  int64_t last = 0;  // highest db_version received from the other side
};
// One step of the app's sync loop: on `from`, the changes with db_version >
// cursor->last and site_id IS NOT to's site; on `to`, one transaction
// inserting them. Advances the cursor. Returns "" or the error. `sent`, when
// given, receives the number of changes sent.
std::string SyncOnce(Db& from, Db& to, SyncCursor* cursor, size_t* sent = nullptr);

// crsql_changes of `db` as sorted lines of (table, pk, cid, val,
// col_version, site_id, cl): what two converged replicas must agree on.
// With `mask_sentinel_site`, '-1' entries show no site (two replicas that
// deleted a row concurrently both keep their own).
std::vector<std::string> ChangeLines(Db& db, bool mask_sentinel_site = false);
// Every row of `table`, each rendered "v1|v2|...", sorted.
std::vector<std::string> TableLines(Db& db, std::string_view table);

// Runs `crlog verify` on `db_path` in its own process: "" when the log and
// the tables agree, else what it printed.
std::string VerifyInProcess(const std::string& db_path);

// Creates `create_sql`'s table and makes `table` replicated.
void MakeCrr(Db& db, std::string_view create_sql, std::string_view table);

// A fixture with a fresh directory; Open() names a database file in it.
class MergeSqlTest : public ::testing::Test {
 protected:
  std::string File(std::string_view name) const { return dir_.File(name); }
  TempDir dir_;
};

// A connection to `path` with the extension loaded, synchronous=OFF (the
// tests are about merging, not durability; it keeps the suite fast).
std::unique_ptr<Db> OpenReplica(const std::string& path);

// Opens `path` with OpenReplica and asserts that the extension loaded.
#define OPEN_REPLICA_AT(var, path)                                        \
  auto var = ::crlog::merge_sql_test::OpenReplica(path);                  \
  ASSERT_TRUE(var->loaded()) << var->load_error()
// Opens `name` in the fixture's directory.
#define OPEN_REPLICA(var, name) OPEN_REPLICA_AT(var, File(name))

}  // namespace crlog::merge_sql_test

#endif  // CRLOG_TESTS_MERGE_SQL_MERGE_SQL_UTIL_H_
