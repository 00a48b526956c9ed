// Helpers for the merge-through-SQL tests (merge_sql_util.h).
#include "tests/merge_sql/merge_sql_util.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "log/hash.h"
#include "util/strings.h"
#include "schema/packed_pk.h"

namespace crlog::merge_sql_test {
namespace {

using capture_test::Bind;
using capture_test::ColumnValue;

// Prepares `sql` and binds `params`; nullptr with `*err` set on failure.
sqlite3_stmt* Prepare(Db& db, std::string_view sql, const Params& params, std::string* err) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    *err = sqlite3_errmsg(db.get());
    sqlite3_finalize(stmt);
    return nullptr;
  }
  for (size_t i = 0; i < params.size(); ++i) Bind(stmt, static_cast<int>(i + 1), params[i]);
  return stmt;
}

}  // namespace

std::string Describe(const Change& c) {
  return absl::StrCat(c.table, "(", capture_test::PkText(c.pk), ") ", c.cid, "=", ValueToString(c.val),
                      " @", c.col_version, " v", c.db_version, " site=", Hex(c.site), " cl=", c.cl,
                      " seq=", c.seq);
}

std::string Execute(Db& db, std::string_view sql, const Params& params) {
  std::string err;
  sqlite3_stmt* stmt = Prepare(db, sql, params, &err);
  if (stmt == nullptr) return err.empty() ? "prepare failed" : err;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) {
    err = sqlite3_errmsg(db.get());
    if (err.empty()) err = sqlite3_errstr(rc);
  }
  sqlite3_finalize(stmt);
  return err;
}

std::vector<std::vector<Value>> Query(Db& db, std::string_view sql, const Params& params) {
  std::vector<std::vector<Value>> rows;
  std::string err;
  sqlite3_stmt* stmt = Prepare(db, sql, params, &err);
  if (stmt == nullptr) {
    ADD_FAILURE() << "preparing failed: " << sql << "\n  error: " << err;
    return rows;
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<Value> row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) row.push_back(ColumnValue(stmt, i));
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << "query failed: " << sql << "\n  error: " << sqlite3_errmsg(db.get());
  sqlite3_finalize(stmt);
  return rows;
}

std::string PkInt(int64_t v) { return Pk({Value::Integer(v)}); }
std::string Pk(const std::vector<Value>& values) { return schema::PackColumns(values); }
std::string FakeSite(uint8_t fill) { return std::string(16, static_cast<char>(fill)); }
std::string Hex(std::string_view bytes) { return log::ToHex(bytes); }

std::string SiteOf(Db& db) { return db.Bytes("SELECT crsql_site_id()"); }
int64_t DbVersion(Db& db) { return db.Int("SELECT crsql_db_version()"); }
int64_t RowsImpacted(Db& db) { return db.Int("SELECT crsql_rows_impacted()"); }

int64_t EventCount(Db& db, std::string_view kind) {
  if (kind.empty()) return db.Int("SELECT count(*) FROM crlog_events");
  auto rows = Query(db, "SELECT count(*) FROM crlog_events WHERE kind = ?", {Value::Text(kind)});
  return rows.empty() ? -1 : rows[0][0].integer;
}

std::string InsertChange(Db& db, const Change& c) {
  return Execute(db,
                 "INSERT INTO crsql_changes (\"table\", pk, cid, val, col_version, db_version, site_id, cl, seq) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 {Value::Text(c.table), Value::Blob(c.pk), Value::Text(c.cid), c.val, Value::Integer(c.col_version),
                  Value::Integer(c.db_version), Value::Blob(c.site), Value::Integer(c.cl), Value::Integer(c.seq)});
}

std::string ApplyBatch(Db& db, const std::vector<Change>& changes) {
  std::string err = db.Try("BEGIN");
  if (!err.empty()) return absl::StrCat("BEGIN: ", err);
  for (const Change& c : changes) {
    err = InsertChange(db, c);
    if (!err.empty()) {
      err = absl::StrCat("inserting ", Describe(c), ": ", err);
      break;
    }
  }
  if (err.empty()) {
    err = db.Try("COMMIT");
    if (!err.empty()) err = absl::StrCat("COMMIT: ", err);
  }
  if (!sqlite3_get_autocommit(db.get())) db.Try("ROLLBACK");
  return err;
}

std::vector<Change> SelectChanges(Db& db, std::string_view where, const Params& params) {
  std::vector<Change> out;
  std::string sql = absl::StrCat(
      "SELECT \"table\", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes ", Sv(where));
  for (const auto& row : Query(db, sql, params)) {
    if (row.size() != 9) continue;
    Change c;
    c.table = row[0].bytes;
    c.pk = row[1].bytes;
    c.cid = row[2].bytes;
    c.val = row[3];
    c.col_version = row[4].integer;
    c.db_version = row[5].integer;
    c.site = row[6].bytes;
    c.cl = row[7].integer;
    c.seq = row[8].integer;
    out.push_back(std::move(c));
  }
  return out;
}

std::string SyncOnce(Db& from, Db& to, SyncCursor* cursor, size_t* sent) {
  std::vector<Change> changes = SelectChanges(from, "WHERE db_version > ? AND site_id IS NOT ?",
                                              {Value::Integer(cursor->last), Value::Blob(SiteOf(to))});
  if (sent != nullptr) *sent = changes.size();
  if (changes.empty()) return "";
  std::string err = ApplyBatch(to, changes);
  if (!err.empty()) return err;
  for (const Change& c : changes) cursor->last = std::max(cursor->last, c.db_version);
  return "";
}

std::vector<std::string> ChangeLines(Db& db, bool mask_sentinel_site) {
  std::vector<std::string> out;
  for (const Change& c : SelectChanges(db)) {
    std::string site = mask_sentinel_site && c.cid == "-1" ? "*" : Hex(c.site);
    out.push_back(absl::StrCat(c.table, "(", capture_test::PkText(c.pk), ") ", c.cid, "=", ValueToString(c.val),
                               " @", c.col_version, " site=", site, " cl=", c.cl));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> TableLines(Db& db, std::string_view table) {
  std::vector<std::string> out;
  for (const auto& row : Query(db, absl::StrCat("SELECT * FROM \"", Sv(table), "\""))) {
    std::vector<std::string> parts;
    for (const Value& v : row) parts.push_back(ValueToString(v));
    out.push_back(absl::StrJoin(parts, "|"));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Db> OpenReplica(const std::string& path) {
  return std::make_unique<Db>(path, /*load_extension=*/true, "PRAGMA synchronous=OFF");
}

void MakeCrr(Db& db, std::string_view create_sql, std::string_view table) {
  db.Exec(create_sql);
  std::string err = Execute(db, "SELECT crsql_as_crr(?)", {Value::Text(table)});
  if (!err.empty()) ADD_FAILURE() << "crsql_as_crr('" << table << "'): " << err;
}

std::string VerifyInProcess(const std::string& db_path) {
  const std::string command = std::string(CRLOG_BINARY) + " verify '" + db_path + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  return pclose(pipe) == 0 ? "" : out;
}

}  // namespace crlog::merge_sql_test
