// crsql_changes: cr-sqlite's history-free change feed (crsql-compat.md):
// SELECT reads it, INSERT merges a peer's changes. One row per cell holding the latest value, with its column version,
// the db_version at which this replica recorded it, the writer's site, the
// row's causal length and the cell's order in its transaction.
//
// It is served from the log: crlog_versions maps each db_version to the
// events materialised at it, and a cell of such an event is reported when the
// row's clock (crlog_clock) says that write is still the cell's latest. So
// `WHERE db_version > ?` reads only what changed after it, through the
// crlog_versions index, never a full scan.
#include "util/sqlite/api.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/fold/row_clock.h"
#include "engine/replica/site_ordinals.h"
#include "util/sqlite/stmt.h"
#include "extension/connection.h"
#include "extension/row_cursor.h"
#include "log/format.h"
#include "log/event.h"
#include "log/row_codec.h"
#include "util/strings.h"
#include "schema/packed_pk.h"
#include "schema/where_pk.h"
#include "util/sqlite/quote.h"

namespace crlog::extension {
namespace {

enum Col { kTable, kPk, kCid, kVal, kColVersion, kDbVersion, kSiteId, kCl, kSeq };

// idxNum bits: which constraints xFilter receives, in this order.
constexpr int kVersionGt = 1, kVersionGe = 2, kVersionEq = 4, kSiteNot = 8, kSiteIs = 16;
// The site constraint is `!=` or `=` (not IS NOT / IS): against NULL it is
// never true.
constexpr int kSiteCompare = 32;

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

using ChangesCursor = RowCursor<ChangeRow>;

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
  // Commit phase one may run in this table's xSync and fill the cache.
  reinterpret_cast<ChangesVtab*>(vtab)->conn->statements->Clear();
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
        if (c.op == SQLITE_INDEX_CONSTRAINT_NE || c.op == SQLITE_INDEX_CONSTRAINT_EQ) idx |= kSiteCompare;
      }
    }
  }
  info->idxNum = idx;
  info->estimatedCost = (idx & (kVersionGt | kVersionGe | kVersionEq)) ? 100 : (idx & (kSiteNot | kSiteIs)) ? 1000 : 1e6;
  // Rows come out ordered by (db_version, seq).
  bool ordered = info->nOrderBy >= 1 && info->nOrderBy <= 2 && info->aOrderBy[0].iColumn == kDbVersion &&
                 !info->aOrderBy[0].desc &&
                 (info->nOrderBy == 1 || (info->aOrderBy[1].iColumn == kSeq && !info->aOrderBy[1].desc));
  info->orderByConsumed = ordered ? 1 : 0;
  return SQLITE_OK;
}

// The integer `b` such that comparing db_version (an integer) with `v` by
// idx's operator is comparing it with `b`; nullopt when no version can
// match. A REAL must not simply be cast: `> 1.5` is `> 1` but `>= 1.5` is
// `>= 2`, and one outside int64's range makes the cast undefined.
std::optional<int64_t> VersionBound(sqlite3_value* v, int idx) {
  if (sqlite3_value_type(v) != SQLITE_FLOAT) return sqlite3_value_int64(v);
  double d = sqlite3_value_double(v);
  if (idx & kVersionGt) {
    d = std::floor(d);
  } else if (idx & kVersionGe) {
    d = std::ceil(d);
  } else if (d != std::floor(d)) {
    return std::nullopt;  // = a fraction
  }
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (d >= kTwoTo63) return std::nullopt;  // above every version
  if (d < -kTwoTo63) {                     // below every version
    if (idx & kVersionEq) return std::nullopt;
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(d);
}

absl::Status Collect(Connection* conn, int idx, sqlite3_value** argv, std::vector<ChangeRow>* out) {
  sqlite3* db = conn->db;
  // Merges of the open transaction may sit in the fold's cache.
  if (conn->merger) {
    WritingScope writing(conn);
    if (absl::Status s = conn->merger->Flush(); !s.ok()) return s;
  }
  int arg = 0;
  int64_t lower = 0;
  const bool by_version = idx & (kVersionGt | kVersionGe | kVersionEq);
  std::vector<std::string> where;
  if (by_version) {
    sqlite3_value* v = argv[arg++];
    if (sqlite3_value_type(v) == SQLITE_NULL) return absl::OkStatus();
    std::optional<int64_t> bound = VersionBound(v, idx);
    if (!bound.has_value()) return absl::OkStatus();
    lower = *bound;
    where.push_back((idx & kVersionGt) ? "db_version > ?1" : (idx & kVersionGe) ? "db_version >= ?1" : "db_version = ?1");
  }
  engine::SiteOrdinals ordinals(db, conn->replica->site());
  if (absl::Status s = ordinals.Load(); !s.ok()) return s;
  std::optional<std::string> site_filter;
  bool site_not = idx & kSiteNot;
  int64_t site_ordinal = -1;  // the filter's site in crlog_version_sites; -1: none there
  if (idx & (kSiteNot | kSiteIs)) {
    sqlite3_value* v = argv[arg++];
    if (sqlite3_value_type(v) == SQLITE_NULL) {
      // site_id IS NULL / = NULL matches nothing (every change names its
      // site); IS NOT NULL matches everything; != NULL matches nothing.
      if (!site_not || (idx & kSiteCompare)) return absl::OkStatus();
    } else {
      site_filter = std::string(static_cast<const char*>(sqlite3_value_blob(v)), sqlite3_value_bytes(v));
      if (site_filter->size() == log::SiteId{}.size()) {
        if (auto found = ordinals.Find(log::ToArray<16>(*site_filter)); found.has_value()) site_ordinal = *found;
      }
      if (!site_not && site_ordinal < 0) return absl::OkStatus();  // a site with no changes here
      // Served by crlog_version_sites' (site, db_version) key.
      where.push_back(absl::StrCat("db_version IN (SELECT db_version FROM main.crlog_version_sites WHERE site ",
                                   site_not ? "!=" : "=", " ?2)"));
    }
  }
  std::string version_sql = "SELECT db_version, hash FROM main.crlog_versions";
  if (!where.empty()) absl::StrAppend(&version_sql, " WHERE ", absl::StrJoin(where, " AND "));
  version_sql += " ORDER BY db_version, part";

  auto versions = sqlite::Stmt::Prepare(db, version_sql);
  if (!versions.ok()) return versions.status();
  if (by_version) versions->BindInt(1, lower);
  if (site_filter) versions->BindInt(2, site_ordinal);

  // Per replicated table: its shape and a statement reading a row's values.
  struct TableReader {
    std::shared_ptr<const engine::TableDesc> desc;
    sqlite::Stmt row;
  };
  absl::flat_hash_map<std::string, std::unique_ptr<TableReader>> readers;
  auto reader_for = [&](const std::string& name) -> absl::StatusOr<TableReader*> {
    auto it = readers.find(name);
    if (it != readers.end()) return it->second.get();
    auto desc = conn->replica->Table(db, name);
    std::unique_ptr<TableReader> r;
    if (desc.ok()) {
      // Cells are kept by column position: after an ADD or RENAME COLUMN
      // crlog did not take in, they would go out under wrong names.
      if (absl::Status s = engine::CheckNotAlteredBehindCrlog(**desc); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("crsql_changes: ", s.message()));
      }
      r = std::make_unique<TableReader>();
      r->desc = *desc;
      std::vector<std::string> cols;
      for (const std::string& c : r->desc->columns) cols.push_back(sqlite::QuoteIdentifier(c));
      if (cols.empty()) cols.push_back("NULL");
      auto stmt = sqlite::Stmt::Prepare(
          db, absl::StrCat("SELECT ", absl::StrJoin(cols, ", "), " FROM main.",
                           sqlite::QuoteIdentifier(r->desc->name), " WHERE ", schema::WherePk(r->desc->pk_columns)));
      if (!stmt.ok()) return stmt.status();
      r->row = *std::move(stmt);
    } else if (!absl::IsNotFound(desc.status())) {
      return desc.status();
    }
    return (readers[name] = std::move(r)).get();  // null: no longer replicated
  };
  auto clock_stmt = sqlite::Stmt::Prepare(db, "SELECT clock FROM main.crlog_clock WHERE tbl = ?1 AND pk = ?2");
  if (!clock_stmt.ok()) return clock_stmt.status();
  auto site_ok = [&](const log::SiteId& s) {
    if (!site_filter) return !(idx & kSiteIs) || site_not;
    bool same = log::AsBytes(s) == std::string_view(*site_filter);
    return site_not ? !same : same;
  };

  // The events recorded at each db_version name the rows written then; a
  // row's clock says which of its cells still carry that version. Several
  // events can share a version (an import and the local writes of one
  // transaction, or an event group), so each row is reported once per
  // version.
  absl::flat_hash_map<log::Hash, log::Event> events;
  absl::flat_hash_set<std::string> reported;
  // The open transaction's local writes, as its commit will record them:
  // their rows' clocks replace the committed ones in what is read.
  absl::flat_hash_map<std::string, engine::RowClock> pending_clocks;  // table '\0' pk
  std::vector<engine::Replica::PendingRow> pending_rows;
  bool any_buffered = false;
  for (const engine::CaptureBuffer* b : conn->joined) any_buffered |= !b->empty();
  if (any_buffered && !conn->prepared) {
    auto rows = conn->replica->PendingWrites(db, conn->joined, conn->floors,
                                             conn->merger ? conn->merger->db_version() : 0);
    if (!rows.ok()) return rows.status();
    pending_rows = *std::move(rows);
    for (const auto& r : pending_rows) pending_clocks[absl::StrCat(r.table, std::string(1, '\0'), r.pk)] = r.clock;
  }
  auto in_range = [&](uint64_t version) {
    const auto v = static_cast<int64_t>(version);
    return !by_version || ((idx & kVersionGt) ? v > lower : (idx & kVersionGe) ? v >= lower : v == lower);
  };

  // The cells of (table, pk) whose latest write is at db_version.
  auto report_row = [&](TableReader& tr, const std::string& table, const std::string& pk,
                        uint64_t db_version) -> absl::Status {
    std::string key = absl::StrCat(db_version, ":", table, ":", pk);
    if (!reported.insert(std::move(key)).second) return absl::OkStatus();
    std::optional<engine::RowClock> clock;
    if (auto it = pending_clocks.find(absl::StrCat(table, std::string(1, '\0'), pk)); it != pending_clocks.end()) {
      clock = it->second;
    } else {
      clock_stmt->BindInt(1, tr.desc->id);
      clock_stmt->BindBlob(2, pk);
      auto crow = clock_stmt->Step();
      if (!crow.ok()) return crow.status();
      if (*crow) {
        auto decoded = engine::RowClock::Decode(clock_stmt->ColumnBlob(0));
        if (!decoded.ok()) {
          clock_stmt->Reset();
          return decoded.status();
        }
        clock = *std::move(decoded);
      }
      clock_stmt->Reset();
    }
    if (!clock) return absl::OkStatus();
    // A cell whose ordinal crlog_sites does not list has no site to show.
    auto emit = [&](const engine::CellClock& c, std::string cid, Value val, uint64_t col_version) {
      auto site = ordinals.Site(c.site);
      if (!site.ok()) return site.status();
      if (!site->has_value() || !site_ok(**site)) return absl::OkStatus();
      out->push_back(ChangeRow{table, pk, std::move(cid), std::move(val), static_cast<int64_t>(col_version),
                               static_cast<int64_t>(c.db_version), **site, static_cast<int64_t>(clock->cl),
                               static_cast<int64_t>(c.seq)});
      return absl::OkStatus();
    };
    if (clock->has_sentinel && clock->sentinel.db_version == db_version) {
      if (absl::Status s = emit(clock->sentinel, "-1", Value::Null(), clock->cl); !s.ok()) return s;
    }
    bool any_cell = false;
    for (const engine::CellClock& c : clock->cells) any_cell |= c.db_version == db_version;
    if (!any_cell) return absl::OkStatus();
    auto pk_values = schema::UnpackColumns(pk);
    if (!pk_values.ok()) return pk_values.status();
    for (size_t i = 0; i < pk_values->size(); ++i) tr.row.BindValue(static_cast<int>(i + 1), (*pk_values)[i]);
    auto found = tr.row.Step();
    if (!found.ok()) {
      tr.row.Reset();
      return found.status();
    }
    if (*found) {
      for (const engine::CellClock& c : clock->cells) {
        if (c.db_version != db_version || c.column >= tr.desc->columns.size()) continue;
        absl::Status s = emit(c, tr.desc->columns[c.column], tr.row.ColumnValue(static_cast<int>(c.column)), c.col_version);
        if (!s.ok()) {
          tr.row.Reset();
          return s;
        }
      }
    }
    tr.row.Reset();
    return absl::OkStatus();
  };
  auto report = [&](uint64_t db_version, const log::Event& event) -> absl::Status {
    const bool is_import = event.kind == log::EventKind::kImport;
    for (const log::TableChanges& t : event.tables) {
      auto reader = reader_for(t.table);
      if (!reader.ok()) return reader.status();
      if (*reader == nullptr) continue;  // no longer replicated
      log::RowsReader rows(t.rows, is_import);
      log::RowOp op;
      while (!rows.done()) {
        if (absl::Status s = rows.Next(t.columns.size(), &op); !s.ok()) return s;
        if (absl::Status s = report_row(**reader, t.table, std::string(op.pk), db_version); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  };
  while (true) {
    auto vrow = versions->Step();
    if (!vrow.ok()) return vrow.status();
    if (!*vrow) break;
    const auto db_version = static_cast<uint64_t>(versions->ColumnInt(0));
    log::Hash hash = log::ToArray<32>(versions->ColumnBlob(1));
    auto cached = events.find(hash);
    if (cached == events.end()) {
      auto stored = conn->replica->log().GetIncludingPending(hash);
      if (!stored.ok()) return stored.status();
      auto event = stored->Decode();
      if (!event.ok()) return event.status();
      cached = events.emplace(hash, *std::move(event)).first;
    }
    if (absl::Status s = report(db_version, cached->second); !s.ok()) return s;
  }
  // What INSERT INTO crsql_changes merged in the open transaction: its
  // clocks are written already, at the transaction's version D, and the
  // import event that will name its rows at commit is in memory. Reading
  // shows them at once, as cr-sqlite does.
  if (conn->merger) {
    std::optional<engine::ImportCommit> pending = conn->merger->Import();
    if (pending.has_value()) {
      if (in_range(pending->db_version)) {
        if (absl::Status s = report(pending->db_version, pending->event); !s.ok()) return s;
      }
    }
  }
  // The rows the open transaction wrote, at the versions their cells will
  // commit at (cr-sqlite shows a transaction its own writes at once).
  for (const auto& r : pending_rows) {
    auto reader = reader_for(r.table);
    if (!reader.ok()) return reader.status();
    if (*reader == nullptr) continue;
    absl::flat_hash_set<uint64_t> versions_of_row;
    if (r.clock.has_sentinel) versions_of_row.insert(r.clock.sentinel.db_version);
    for (const engine::CellClock& c : r.clock.cells) versions_of_row.insert(c.db_version);
    for (uint64_t v : versions_of_row) {
      if (!in_range(v)) continue;
      if (absl::Status s = report_row(**reader, r.table, r.pk, v); !s.ok()) return s;
    }
  }
  // Sort indexes, not rows: a row holds strings and a value.
  std::vector<uint32_t> order(out->size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const ChangeRow& x = (*out)[a];
    const ChangeRow& y = (*out)[b];
    return x.db_version != y.db_version ? x.db_version < y.db_version : x.seq < y.seq;
  });
  std::vector<ChangeRow> sorted;
  sorted.reserve(out->size());
  for (uint32_t i : order) sorted.push_back(std::move((*out)[i]));
  *out = std::move(sorted);
  return absl::OkStatus();
}

int Filter(sqlite3_vtab_cursor* cur, int idx, const char*, int, sqlite3_value** argv) {
  return ChangesCursor::Filter(cur, [&](std::vector<ChangeRow>* rows) {
    Connection* conn = reinterpret_cast<ChangesVtab*>(cur->pVtab)->conn;
    if (absl::Status s = conn->Ready(); !s.ok()) return s;
    return Collect(conn, idx, argv, rows);
  });
}

int Column(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) {
  const ChangeRow& r = ChangesCursor::Of(cur)->row();
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

// One crsql_changes row as INSERT hands it over, checked.
struct ParsedChange : engine::OwnedChange {
  uint64_t db_version = 0;  // the sender's
};

// A version, cl or seq of an incoming change. JavaScript clients send every
// number as a float64 (REAL 3.0) and some leave seq out (NULL, read as 0), so
// those are taken; cr-sqlite also truncates 3.5 to 3 and reads a NULL
// version as 0, which would invent a value the sender never had, so crlog
// refuses those (docs/sql.md, differences).
absl::StatusOr<uint64_t> ChangeNumber(sqlite3_value* v, bool null_is_zero) {
  const auto range = [](auto x) {
    return absl::InvalidArgumentError(absl::StrCat(x, ", beyond ", log::format::kMaxCounter, ", which leaves no room to grow"));
  };
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: {
      int64_t x = sqlite3_value_int64(v);
      if (x < 0) return absl::InvalidArgumentError(absl::StrCat(x, "; it must not be negative"));
      if (static_cast<uint64_t>(x) > log::format::kMaxCounter) return range(x);
      return static_cast<uint64_t>(x);
    }
    case SQLITE_FLOAT: {
      double x = sqlite3_value_double(v);
      if (!(x >= 0)) return absl::InvalidArgumentError(absl::StrCat(x, "; it must not be negative"));
      if (x > static_cast<double>(log::format::kMaxCounter)) return range(x);
      if (x != std::floor(x)) {
        return absl::InvalidArgumentError(absl::StrCat("REAL ", x, ", which is not a whole number"));
      }
      return static_cast<uint64_t>(x);
    }
    case SQLITE_NULL:
      if (null_is_zero) return 0;
      return absl::InvalidArgumentError("NULL; it must be an INTEGER (or a whole REAL)");
    default:
      return absl::InvalidArgumentError(absl::StrCat(sqlite3_value_type(v) == SQLITE_TEXT ? "TEXT" : "a BLOB",
                                                     "; it must be an INTEGER (or a whole REAL)"));
  }
}

absl::StatusOr<ParsedChange> Parse(sqlite3_value** v) {
  ParsedChange c;
  if (sqlite3_value_type(v[kTable]) != SQLITE_TEXT) {
    return absl::InvalidArgumentError("crsql_changes: \"table\" must be a table name (TEXT)");
  }
  c.table = reinterpret_cast<const char*>(sqlite3_value_text(v[kTable]));
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("crsql_changes: a change to table '", c.table, "' ", Sv(what)));
  };
  if (sqlite3_value_type(v[kPk]) != SQLITE_BLOB) return bad("has a pk that is not a packed BLOB (crsql_pack_columns)");
  c.pk.assign(static_cast<const char*>(sqlite3_value_blob(v[kPk])), sqlite3_value_bytes(v[kPk]));
  if (sqlite3_value_type(v[kCid]) == SQLITE_TEXT) {
    c.cid = reinterpret_cast<const char*>(sqlite3_value_text(v[kCid]));
  } else if (sqlite3_value_type(v[kCid]) == SQLITE_INTEGER && sqlite3_value_int64(v[kCid]) == -1) {
    c.cid = "-1";
  } else {
    return bad("has a cid that is not a column name (TEXT) or '-1'");
  }
  struct {
    Col col;
    const char* name;
    uint64_t* out;
    uint64_t min;
  } numbers[] = {{kColVersion, "col_version", &c.col_version, 0},
                 {kDbVersion, "db_version", &c.db_version, 0},
                 {kCl, "cl", &c.cl, 1},
                 {kSeq, "seq", &c.seq, 0}};
  for (const auto& n : numbers) {
    auto number = ChangeNumber(v[n.col], n.col == kSeq);
    if (!number.ok()) {
      return bad(absl::StrCat("(column '", c.cid, "') has ", n.name, " ", number.status().message()));
    }
    if (*number < n.min) {
      return bad(absl::StrCat("(column '", c.cid, "') has ", n.name, " ", *number, "; it must be at least ", n.min));
    }
    *n.out = *number;
  }
  if (sqlite3_value_type(v[kSiteId]) != SQLITE_BLOB || sqlite3_value_bytes(v[kSiteId]) != 16) {
    return bad(absl::StrCat("(column '", c.cid, "') has a site_id that is not a 16-byte BLOB"));
  }
  c.site = log::ToArray<16>(std::string_view(static_cast<const char*>(sqlite3_value_blob(v[kSiteId])), 16));
  c.val = sqlite::FromSqlite(v[kVal]);
  return c;
}

// Local writes to the same table earlier in this transaction wait in its
// capture buffer until commit, and the merge decided without them: mark the
// row so that commit settles them against the table.
void NoteMergeForCapture(Connection* conn, const ParsedChange& c) {
  for (engine::CaptureBuffer* buffer : conn->joined) {
    if (buffer->empty() || buffer->table().name != c.table) continue;
    buffer->AddMerged(c.pk);
    return;
  }
}

// xUpdate: INSERT merges one change (crsql-compat.md, "Merge rule"). A
// refused change poisons the transaction: the batch is all or nothing.
int Update(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite3_int64* rowid) {
  if (argc == 1 || sqlite3_value_type(argv[0]) != SQLITE_NULL) {
    return VtabError(vtab, absl::InvalidArgumentError(
                               "crsql_changes accepts SELECT and INSERT only; UPDATE and DELETE are refused"));
  }
  Connection* conn = reinterpret_cast<ChangesVtab*>(vtab)->conn;
  if (absl::Status s = conn->Ready(); !s.ok()) return VtabError(vtab, s);
  if (!conn->poisoned.ok()) {
    return VtabError(vtab, absl::FailedPreconditionError(absl::StrCat(
                               "an earlier change in this transaction was refused (", conn->poisoned.message(),
                               "); ROLLBACK and send the batch again without it")));
  }
  if (conn->prepared) {
    return VtabError(vtab, absl::FailedPreconditionError(
                               "crsql_changes: this transaction already began to commit (COMMIT returned "
                               "SQLITE_BUSY); retry COMMIT, or ROLLBACK"));
  }
  absl::Status s = argc == 2 + 9 ? absl::OkStatus() : absl::InternalError("crsql_changes arity");
  absl::StatusOr<ParsedChange> c = s.ok() ? Parse(argv + 2) : s;
  if (c.ok()) s = EnsureMerger(conn);
  else s = c.status();
  if (s.ok()) {
    WritingScope writing(conn);
    auto outcome = conn->merger->Add(c->view(), c->db_version, conn->floors.at_commit);
    s = outcome.status();
    if (s.ok() && outcome->changed) NoteMergeForCapture(conn, *c);
  }
  if (!s.ok()) {
    conn->poisoned = s;
    return VtabError(vtab, s);
  }
  conn->floors.at_commit = std::max(conn->floors.at_commit, conn->merger->db_version());
  *rowid = 0;
  return SQLITE_OK;
}

int Begin(sqlite3_vtab* vtab) {
  Connection* conn = reinterpret_cast<ChangesVtab*>(vtab)->conn;
  if (absl::Status s = EnsureMerger(conn); !s.ok()) return VtabError(vtab, s);
  return SQLITE_OK;
}
int Sync(sqlite3_vtab* vtab) {
  if (absl::Status s = PrepareTransaction(reinterpret_cast<ChangesVtab*>(vtab)->conn); !s.ok()) {
    return VtabError(vtab, s);
  }
  return SQLITE_OK;
}
int Commit(sqlite3_vtab* vtab) {
  CommitTransaction(reinterpret_cast<ChangesVtab*>(vtab)->conn);
  return SQLITE_OK;
}
int Rollback(sqlite3_vtab* vtab) {
  RollbackTransaction(reinterpret_cast<ChangesVtab*>(vtab)->conn);
  return SQLITE_OK;
}
int SavepointM(sqlite3_vtab* vtab, int level) {
  TransactionSavepoint(reinterpret_cast<ChangesVtab*>(vtab)->conn, level);
  return SQLITE_OK;
}
int Release(sqlite3_vtab* vtab, int level) {
  TransactionRelease(reinterpret_cast<ChangesVtab*>(vtab)->conn, level);
  return SQLITE_OK;
}
int RollbackTo(sqlite3_vtab* vtab, int level) {
  TransactionRollbackTo(reinterpret_cast<ChangesVtab*>(vtab)->conn, level);
  return SQLITE_OK;
}

sqlite3_module kChangesModule = {
    /*iVersion=*/2,
    /*xCreate=*/nullptr,
    /*xConnect=*/Connect,
    /*xBestIndex=*/BestIndex,
    /*xDisconnect=*/Disconnect,
    /*xDestroy=*/Disconnect,
    /*xOpen=*/ChangesCursor::Open,
    /*xClose=*/ChangesCursor::Close,
    /*xFilter=*/Filter,
    /*xNext=*/ChangesCursor::Next,
    /*xEof=*/ChangesCursor::Eof,
    /*xColumn=*/Column,
    /*xRowid=*/ChangesCursor::Rowid,
    /*xUpdate=*/Update,
    /*xBegin=*/Begin,
    /*xSync=*/Sync,
    /*xCommit=*/Commit,
    /*xRollback=*/Rollback,
    /*xFindFunction=*/nullptr,
    /*xRename=*/nullptr,
    /*xSavepoint=*/SavepointM,
    /*xRelease=*/Release,
    /*xRollbackTo=*/RollbackTo,
    /*xShadowName=*/nullptr,
};

}  // namespace

int RegisterChangesModule(sqlite3* db, Connection* conn) {
  // Eponymous-only (xCreate is null): `crsql_changes` exists on every
  // connection that loaded crlog, with nothing stored in the schema.
  return sqlite3_create_module_v2(db, "crsql_changes", ScopedModule<&kChangesModule>(conn->api_slot), conn, nullptr);
}

}  // namespace crlog::extension
