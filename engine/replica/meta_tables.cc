// crlog's tables inside the database (engine/replica/meta_tables.h).
#include "engine/replica/meta_tables.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "util/sqlite/stmt.h"

namespace crlog::engine::meta {

absl::Status CreateTables(sqlite3* db) {
  if (absl::Status s = CreateCrlogTables(db); !s.ok()) return s;
  return CreateCrsqlTables(db);
}

absl::Status CreateCrlogTables(sqlite3* db) {
  absl::Status s = sqlite::Exec(db, R"sql(
CREATE TABLE IF NOT EXISTS crlog_site(
  id INTEGER PRIMARY KEY CHECK (id = 0), site BLOB NOT NULL, owner BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS crlog_watermark(
  id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL, hash BLOB,
  db_version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS crlog_heads(hash BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crlog_tables(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, shape TEXT);
CREATE TABLE IF NOT EXISTS crlog_clock(
  tbl INTEGER NOT NULL, pk BLOB NOT NULL, clock BLOB NOT NULL,
  PRIMARY KEY (tbl, pk)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crlog_versions(
  db_version INTEGER NOT NULL, part INTEGER NOT NULL, hash BLOB NOT NULL,
  PRIMARY KEY (db_version, part)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crlog_version_sites(
  site INTEGER NOT NULL, db_version INTEGER NOT NULL, PRIMARY KEY (site, db_version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crlog_sites(ordinal INTEGER PRIMARY KEY, site BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS crlog_conflicts(
  id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk BLOB NOT NULL, cid TEXT NOT NULL,
  db_version INTEGER NOT NULL, col_version INTEGER NOT NULL,
  winner_site BLOB NOT NULL, winner_value ANY, loser_site BLOB NOT NULL, loser_value ANY);
CREATE TABLE IF NOT EXISTS crlog_alter(tbl TEXT PRIMARY KEY, columns TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crlog_stash(
  tbl TEXT NOT NULL, pk BLOB NOT NULL, cid TEXT NOT NULL, val ANY, col_version INTEGER NOT NULL,
  site BLOB NOT NULL, cl INTEGER NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (tbl, pk, cid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crlog_keys(
  site BLOB PRIMARY KEY, public_key BLOB NOT NULL, signs_from_seq INTEGER NOT NULL DEFAULT 1,
  added_micros INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO crlog_watermark(id, seq, hash, db_version) VALUES (0, 0, NULL, 0);
)sql");
  return s.ok() ? CreateHeldTable(db) : s;
}

absl::Status CreateHeldTable(sqlite3* db) {
  return sqlite::Exec(db,
              "CREATE TABLE IF NOT EXISTS main.crlog_held("
              "event BLOB PRIMARY KEY NOT NULL, cause BLOB NOT NULL, tbl TEXT, pk BLOB, "
              "reason TEXT NOT NULL, held_at INTEGER NOT NULL)");
}

absl::Status CreateCrsqlTables(sqlite3* db) {
  // Exactly as cr-sqlite 0.16 creates them: sync servers read and write them.
  return sqlite::Exec(db, R"sql(
CREATE TABLE IF NOT EXISTS "crsql_master" ("key" TEXT PRIMARY KEY, "value" ANY);
CREATE TABLE IF NOT EXISTS crsql_tracked_peers ("site_id" BLOB NOT NULL, "version" INTEGER NOT NULL, "seq" INTEGER DEFAULT 0, "tag" INTEGER, "event" INTEGER, PRIMARY KEY ("site_id", "tag", "event")) STRICT;
INSERT OR IGNORE INTO crsql_master("key", "value") VALUES ('crsqlite_version', 150000);
)sql");
}

std::string EncodeShape(const std::vector<std::string>& pk, const std::vector<std::string>& columns) {
  return absl::StrCat(absl::StrJoin(pk, "\x1f"), "\x1e", absl::StrJoin(columns, "\x1f"));
}

void DecodeShape(std::string_view shape, std::vector<std::string>* pk, std::vector<std::string>* columns) {
  const size_t split = shape.find('\x1e');
  std::string_view p = shape.substr(0, split);
  std::string_view c = split == std::string_view::npos ? std::string_view() : shape.substr(split + 1);
  pk->clear();
  columns->clear();
  if (!p.empty()) *pk = absl::StrSplit(absl::string_view(p.data(), p.size()), '\x1f');
  if (!c.empty()) *columns = absl::StrSplit(absl::string_view(c.data(), c.size()), '\x1f');
}

absl::StatusOr<bool> HasShapeColumn(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT 1 FROM pragma_table_info('crlog_tables', 'main') WHERE name = 'shape'");
  if (!stmt.ok()) return stmt.status();
  return stmt->Step();
}

absl::StatusOr<bool> HasCrsqlTables(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND "
                                "name IN ('crsql_master', 'crsql_tracked_peers')");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return stmt->ColumnInt(0) == 2;
}

absl::StatusOr<bool> Initialised(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(
      db, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'crlog_site'");
  if (!stmt.ok()) return stmt.status();
  return stmt->Step();
}

absl::StatusOr<std::optional<SiteRow>> ReadSite(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT site, owner FROM main.crlog_site WHERE id = 0");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  if (stmt->ColumnBlob(0).size() != 16) {
    return absl::DataLossError("crlog_site.site is not 16 bytes: the database's crlog tables are damaged");
  }
  SiteRow out;
  out.site = log::ToArray<16>(stmt->ColumnBlob(0));
  out.owner = std::string(stmt->ColumnBlob(1));
  return out;
}

absl::Status WriteSite(sqlite3* db, const SiteRow& row) {
  auto stmt = sqlite::Stmt::Prepare(db, "INSERT OR REPLACE INTO main.crlog_site(id, site, owner) VALUES (0, ?1, ?2)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindBlob(1, log::AsBytes(row.site));
  stmt->BindBlob(2, row.owner);
  return stmt->Run();
}

absl::StatusOr<Watermark> ReadWatermark(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT seq, hash, db_version FROM main.crlog_watermark WHERE id = 0");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  Watermark w;
  if (!*row) return w;
  w.seq = static_cast<uint64_t>(stmt->ColumnInt(0));
  if (!stmt->ColumnIsNull(1)) {
    if (stmt->ColumnBlob(1).size() != 32) {
      return absl::DataLossError("crlog_watermark.hash is not 32 bytes: the database's crlog tables are damaged");
    }
    w.hash = log::ToArray<32>(stmt->ColumnBlob(1));
  }
  w.db_version = static_cast<uint64_t>(stmt->ColumnInt(2));
  return w;
}

absl::Status WriteWatermark(sqlite3* db, const Watermark& w) {
  auto stmt = sqlite::Stmt::Prepare(
      db, "INSERT OR REPLACE INTO main.crlog_watermark(id, seq, hash, db_version) VALUES (0, ?1, ?2, ?3)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, static_cast<int64_t>(w.seq));
  if (w.seq != 0) stmt->BindBlob(2, log::AsBytes(w.hash));
  stmt->BindInt(3, static_cast<int64_t>(w.db_version));
  return stmt->Run();
}

absl::StatusOr<std::vector<log::Hash>> ReadHeads(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT hash FROM main.crlog_heads ORDER BY hash");
  if (!stmt.ok()) return stmt.status();
  std::vector<log::Hash> heads;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (stmt->ColumnBlob(0).size() != 32) {
      return absl::DataLossError("crlog_heads holds an id that is not 32 bytes");
    }
    heads.push_back(log::ToArray<32>(stmt->ColumnBlob(0)));
  }
  return heads;
}

absl::Status AdvanceHeads(sqlite3* db, absl::Span<const log::Hash> parents, const log::Hash& event) {
  auto del = sqlite::Stmt::Prepare(db, "DELETE FROM main.crlog_heads WHERE hash = ?1");
  if (!del.ok()) return del.status();
  for (const log::Hash& p : parents) {
    del->BindBlob(1, log::AsBytes(p));
    if (absl::Status s = del->Run(); !s.ok()) return s;
  }
  auto ins = sqlite::Stmt::Prepare(db, "INSERT OR IGNORE INTO main.crlog_heads(hash) VALUES (?1)");
  if (!ins.ok()) return ins.status();
  ins->BindBlob(1, log::AsBytes(event));
  return ins->Run();
}

absl::Status RecordVersion(sqlite3* db, uint64_t db_version, uint32_t part, const log::Hash& event) {
  auto stmt = sqlite::Stmt::Prepare(
      db, "INSERT OR REPLACE INTO main.crlog_versions(db_version, part, hash) VALUES (?1, ?2, ?3)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, static_cast<int64_t>(db_version));
  stmt->BindInt(2, part);
  stmt->BindBlob(3, log::AsBytes(event));
  return stmt->Run();
}

absl::Status AppendVersion(sqlite3* db, uint64_t db_version, const log::Hash& event) {
  auto stmt = sqlite::Stmt::Prepare(
      db, "INSERT INTO main.crlog_versions(db_version, part, hash) SELECT ?1, coalesce(max(part) + 1, 0), ?2 "
          "FROM main.crlog_versions WHERE db_version = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, static_cast<int64_t>(db_version));
  stmt->BindBlob(2, log::AsBytes(event));
  return stmt->Run();
}

absl::Status RecordVersionSites(sqlite3* db, uint64_t db_version, absl::Span<const log::SiteId> sites,
                                const log::SiteId& local_site) {
  auto stmt = sqlite::Stmt::Prepare(
      db, "INSERT OR IGNORE INTO main.crlog_version_sites(site, db_version) "
          "SELECT 0, ?1 WHERE ?2 = ?3 UNION ALL SELECT ordinal, ?1 FROM main.crlog_sites WHERE site = ?2");
  if (!stmt.ok()) return stmt.status();
  for (const log::SiteId& site : sites) {
    stmt->BindInt(1, static_cast<int64_t>(db_version));
    stmt->BindBlob(2, log::AsBytes(site));
    stmt->BindBlob(3, log::AsBytes(local_site));
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace crlog::engine::meta
