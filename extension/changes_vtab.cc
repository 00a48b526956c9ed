// crsql_changes: cr-sqlite's history-free change feed (crsql-compat.md), read
// side. One row per cell holding the latest value, with its column version,
// the db_version at which this replica recorded it, the writer's site, the
// row's causal length and the cell's order in its transaction.
//
// It is served from the log: crlog_versions maps each db_version to the
// events materialised at it, and a cell of such an event is reported when the
// row's clock (crlog_clock) says that write is still the cell's latest. So
// `WHERE db_version > ?` reads only what changed after it, through the
// crlog_versions index, never a full scan.
#include <sqlite3.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/row_clock.h"
#include "engine/sql.h"
#include "extension/connection.h"
#include "log/event.h"
#include "log/row_codec.h"

namespace crlog::extension {
namespace {

enum Col { kTable, kPk, kCid, kVal, kColVersion, kDbVersion, kSiteId, kCl, kSeq };

// idxNum bits: which constraints xFilter receives, in this order.
constexpr int kVersionGt = 1, kVersionGe = 2, kVersionEq = 4, kSiteNot = 8, kSiteIs = 16;

struct ChangeRow {
  std::string table;
  std::string pk;
  std::string cid;
  Value val;
  int64_t col_version;
  int64_t db_version;
  log::SiteId site;
  int64_t cl;
  int64_t seq;
};

struct ChangesVtab {
  sqlite3_vtab base{};
  Connection* conn = nullptr;
};

struct ChangesCursor {
  sqlite3_vtab_cursor base{};
  std::vector<ChangeRow> rows;
  size_t at = 0;
};

int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  int rc = sqlite3_declare_vtab(
      db,
      "CREATE TABLE x(\"table\" TEXT, pk BLOB, cid TEXT, val ANY, col_version INTEGER, "
      "db_version INTEGER, site_id BLOB, cl INTEGER, seq INTEGER)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  auto* v = new ChangesVtab();
  v->conn = static_cast<Connection*>(aux);
  *out = &v->base;
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab->zErrMsg);
  delete reinterpret_cast<ChangesVtab*>(vtab);
  return SQLITE_OK;
}

int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  int idx = 0, arg = 0;
  auto use = [&](int i, int bit) {
    if (idx & bit) return;
    idx |= bit;
    info->aConstraintUsage[i].argvIndex = ++arg;
    info->aConstraintUsage[i].omit = 1;
  };
  // Fixed argument order: version constraint first, then site.
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < info->nConstraint; ++i) {
      const auto& c = info->aConstraint[i];
      if (!c.usable) continue;
      if (pass == 0 && c.iColumn == kDbVersion && !(idx & (kVersionGt | kVersionGe | kVersionEq))) {
        if (c.op == SQLITE_INDEX_CONSTRAINT_GT) use(i, kVersionGt);
        else if (c.op == SQLITE_INDEX_CONSTRAINT_GE) use(i, kVersionGe);
        else if (c.op == SQLITE_INDEX_CONSTRAINT_EQ) use(i, kVersionEq);
      } else if (pass == 1 && c.iColumn == kSiteId && !(idx & (kSiteNot | kSiteIs))) {
        if (c.op == SQLITE_INDEX_CONSTRAINT_NE || c.op == SQLITE_INDEX_CONSTRAINT_ISNOT) use(i, kSiteNot);
        else if (c.op == SQLITE_INDEX_CONSTRAINT_EQ || c.op == SQLITE_INDEX_CONSTRAINT_IS) use(i, kSiteIs);
      }
    }
  }
  info->idxNum = idx;
  info->estimatedCost = (idx & (kVersionGt | kVersionGe | kVersionEq)) ? 100 : 1e6;
  // Rows come out ordered by (db_version, seq).
  bool ordered = info->nOrderBy >= 1 && info->nOrderBy <= 2 && info->aOrderBy[0].iColumn == kDbVersion &&
                 !info->aOrderBy[0].desc &&
                 (info->nOrderBy == 1 || (info->aOrderBy[1].iColumn == kSeq && !info->aOrderBy[1].desc));
  info->orderByConsumed = ordered ? 1 : 0;
  return SQLITE_OK;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new ChangesCursor())->base;
  return SQLITE_OK;
}
int Close(sqlite3_vtab_cursor* c) {
  delete reinterpret_cast<ChangesCursor*>(c);
  return SQLITE_OK;
}

absl::Status Collect(Connection* conn, int idx, sqlite3_value** argv, std::vector<ChangeRow>* out) {
  sqlite3* db = conn->db;
  int arg = 0;
  int64_t lower = 0;
  std::string version_sql = "SELECT db_version, hash FROM main.crlog_versions";
  if (idx & (kVersionGt | kVersionGe | kVersionEq)) {
    sqlite3_value* v = argv[arg++];
    if (sqlite3_value_type(v) == SQLITE_NULL) return absl::OkStatus();
    lower = sqlite3_value_int64(v);
    if (sqlite3_value_type(v) == SQLITE_FLOAT && (idx & kVersionGt)) {
      lower = static_cast<int64_t>(sqlite3_value_double(v));
    }
    version_sql += (idx & kVersionGt) ? " WHERE db_version > ?1" : (idx & kVersionGe) ? " WHERE db_version >= ?1" : " WHERE db_version = ?1";
  }
  version_sql += " ORDER BY db_version, part";
  std::optional<std::string> site_filter;
  bool site_not = idx & kSiteNot;
  if (idx & (kSiteNot | kSiteIs)) {
    sqlite3_value* v = argv[arg++];
    if (sqlite3_value_type(v) == SQLITE_NULL) {
      // site_id IS NULL / = NULL matches nothing (every change names its
      // site); IS NOT NULL matches everything; != NULL matches nothing.
      if (!site_not) return absl::OkStatus();
    } else {
      site_filter = std::string(static_cast<const char*>(sqlite3_value_blob(v)), sqlite3_value_bytes(v));
    }
  }

  auto versions = engine::Stmt::Prepare(db, version_sql);
  if (!versions.ok()) return versions.status();
  if (idx & (kVersionGt | kVersionGe | kVersionEq)) versions->BindInt(1, lower);
  auto tables = engine::Stmt::Prepare(db, "SELECT name, id FROM main.crlog_tables");
  if (!tables.ok()) return tables.status();
  absl::flat_hash_map<std::string, int64_t> table_ids;
  while (true) {
    auto row = tables->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    table_ids[std::string(tables->ColumnText(0))] = tables->ColumnInt(1);
  }
  auto clock_stmt = engine::Stmt::Prepare(db, "SELECT clock FROM main.crlog_clock WHERE tbl = ?1 AND pk = ?2");
  if (!clock_stmt.ok()) return clock_stmt.status();
  auto sites_stmt = engine::Stmt::Prepare(db, "SELECT ordinal, site FROM main.crlog_sites");
  if (!sites_stmt.ok()) return sites_stmt.status();
  absl::flat_hash_map<uint32_t, log::SiteId> sites;
  sites[0] = conn->replica->site();
  while (true) {
    auto row = sites_stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    sites[static_cast<uint32_t>(sites_stmt->ColumnInt(0))] = log::ToArray<16>(sites_stmt->ColumnBlob(1));
  }
  auto site_ok = [&](const log::SiteId& s) {
    if (!site_filter) return !(idx & kSiteIs) || site_not;
    bool same = log::AsBytes(s) == std::string_view(*site_filter);
    return site_not ? !same : same;
  };

  while (true) {
    auto vrow = versions->Step();
    if (!vrow.ok()) return vrow.status();
    if (!*vrow) break;
    int64_t db_version = versions->ColumnInt(0);
    log::Hash hash = log::ToArray<32>(versions->ColumnBlob(1));
    auto stored = conn->replica->log().Get(hash);
    if (!stored.ok()) return stored.status();
    auto event = stored->Decode();
    if (!event.ok()) return event.status();
    bool with_origins = event->kind == log::EventKind::kImport;
    for (const log::TableChanges& t : event->tables) {
      auto id = table_ids.find(t.table);
      if (id == table_ids.end()) continue;  // no longer replicated
      log::RowsReader reader(t.rows, with_origins);
      log::RowOp op;
      while (!reader.done()) {
        if (absl::Status s = reader.Next(t.columns.size(), &op); !s.ok()) return s;
        clock_stmt->BindInt(1, id->second);
        clock_stmt->BindBlob(2, op.pk);
        auto crow = clock_stmt->Step();
        if (!crow.ok()) return crow.status();
        if (!*crow) {
          clock_stmt->Reset();
          continue;
        }
        auto clock = engine::RowClock::Decode(clock_stmt->ColumnBlob(0));
        clock_stmt->Reset();
        if (!clock.ok()) return clock.status();
        auto emit = [&](const engine::CellClock& c, std::string cid, Value val, int64_t col_version) {
          auto site = sites.find(c.site);
          if (site == sites.end() || !site_ok(site->second)) return;
          out->push_back(ChangeRow{t.table, op.pk, std::move(cid), std::move(val), col_version,
                                   static_cast<int64_t>(c.db_version), site->second,
                                   static_cast<int64_t>(clock->cl), static_cast<int64_t>(c.seq)});
        };
        if (clock->has_sentinel && clock->sentinel.db_version == static_cast<uint64_t>(db_version) &&
            clock->sentinel.col_version == op.causal_length) {
          emit(clock->sentinel, "-1", Value::Null(), static_cast<int64_t>(clock->cl));
        }
        for (const log::CellOp& cell : op.cells) {
          const engine::CellClock* c = clock->Find(cell.column);
          if (c == nullptr || c->db_version != static_cast<uint64_t>(db_version) ||
              c->col_version != cell.version || clock->cl != op.causal_length) {
            continue;  // overwritten since
          }
          emit(*c, t.columns[cell.column], cell.value, static_cast<int64_t>(c->col_version));
        }
      }
    }
  }
  std::stable_sort(out->begin(), out->end(), [](const ChangeRow& a, const ChangeRow& b) {
    return a.db_version != b.db_version ? a.db_version < b.db_version : a.seq < b.seq;
  });
  return absl::OkStatus();
}

int Filter(sqlite3_vtab_cursor* cur, int idx, const char*, int, sqlite3_value** argv) {
  auto* c = reinterpret_cast<ChangesCursor*>(cur);
  auto* v = reinterpret_cast<ChangesVtab*>(cur->pVtab);
  c->rows.clear();
  c->at = 0;
  if (absl::Status s = v->conn->Ready(); !s.ok()) return VtabError(cur->pVtab, s);
  absl::Status s = Collect(v->conn, idx, argv, &c->rows);
  if (!s.ok()) return VtabError(cur->pVtab, s);
  return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* cur) {
  ++reinterpret_cast<ChangesCursor*>(cur)->at;
  return SQLITE_OK;
}
int Eof(sqlite3_vtab_cursor* cur) {
  auto* c = reinterpret_cast<ChangesCursor*>(cur);
  return c->at >= c->rows.size();
}

int Column(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) {
  auto* c = reinterpret_cast<ChangesCursor*>(cur);
  const ChangeRow& r = c->rows[c->at];
  switch (col) {
    case kTable: sqlite3_result_text(ctx, r.table.data(), static_cast<int>(r.table.size()), SQLITE_TRANSIENT); break;
    case kPk: sqlite3_result_blob(ctx, r.pk.data(), static_cast<int>(r.pk.size()), SQLITE_TRANSIENT); break;
    case kCid: sqlite3_result_text(ctx, r.cid.data(), static_cast<int>(r.cid.size()), SQLITE_TRANSIENT); break;
    case kVal: ResultValue(ctx, r.val); break;
    case kColVersion: sqlite3_result_int64(ctx, r.col_version); break;
    case kDbVersion: sqlite3_result_int64(ctx, r.db_version); break;
    case kSiteId: sqlite3_result_blob(ctx, r.site.data(), 16, SQLITE_TRANSIENT); break;
    case kCl: sqlite3_result_int64(ctx, r.cl); break;
    case kSeq: sqlite3_result_int64(ctx, r.seq); break;
  }
  return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor* cur, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<ChangesCursor*>(cur)->at);
  return SQLITE_OK;
}

// Writing arrives with merge support; until then, a clear refusal.
int Update(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite3_int64*) {
  if (argc == 1 || sqlite3_value_type(argv[0]) != SQLITE_NULL) {
    return VtabError(vtab, absl::InvalidArgumentError(
                               "crsql_changes accepts SELECT and INSERT only; UPDATE and DELETE are refused"));
  }
  return VtabError(vtab, absl::UnimplementedError(
                             "INSERT INTO crsql_changes (merging remote changes) is not available yet in this crlog build"));
}

sqlite3_module kChangesModule = {
    /*iVersion=*/0,       /*xCreate=*/nullptr,     /*xConnect=*/Connect, /*xBestIndex=*/BestIndex,
    /*xDisconnect=*/Disconnect, /*xDestroy=*/Disconnect, /*xOpen=*/Open,  /*xClose=*/Close,
    /*xFilter=*/Filter,   /*xNext=*/Next,          /*xEof=*/Eof,         /*xColumn=*/Column,
    /*xRowid=*/Rowid,     /*xUpdate=*/Update,      /*xBegin=*/nullptr,   /*xSync=*/nullptr,
    /*xCommit=*/nullptr,  /*xRollback=*/nullptr,   /*xFindFunction=*/nullptr, /*xRename=*/nullptr,
    /*xSavepoint=*/nullptr, /*xRelease=*/nullptr,  /*xRollbackTo=*/nullptr, /*xShadowName=*/nullptr,
};

}  // namespace

int RegisterChangesModule(sqlite3* db, Connection* conn) {
  // Eponymous-only (xCreate is null): `crsql_changes` exists on every
  // connection that loaded crlog, with nothing stored in the schema.
  return sqlite3_create_module_v2(db, "crsql_changes", &kChangesModule, conn, nullptr);
}

}  // namespace crlog::extension
