// Blame and cell history from SQL, as table-valued functions:
//
//   SELECT * FROM crlog_blame('todo', 1);                   -- who wrote each cell
//   SELECT * FROM crlog_cell_history('todo', 1);            -- every value held
//   SELECT * FROM crlog_cell_history('todo', 1, 'title');   -- of one column
//   SELECT * FROM crlog_cell_history('tags', crsql_pack_columns(1, 'a'));
//
// The pk is the packed pk when given as a BLOB (crsql_pack_columns, or the pk
// column of crsql_changes); any other value is the pk of a one-column key.
// The row's existence shows as column '-1' (as in crsql_changes), its value
// 1 when the row came to life and 0 when it was deleted.
//
// crlog_blame is engine::BlameRow (the clock, a few lookups);
// crlog_cell_history is engine::RowHistory (a replay of the one row) up to
// the optional fourth argument, a point (engine/history/point.h), else head.
#include "util/sqlite/api.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crlog/time.h"
#include "engine/history/blame.h"
#include "engine/history/point.h"
#include "util/sqlite/stmt.h"
#include "extension/connection.h"
#include "extension/row_cursor.h"
#include "log/hash.h"
#include "schema/packed_pk.h"

namespace crlog::extension {
namespace {

// The visible columns, shared by both functions.
enum { kColumn, kValue, kEvent, kPosition, kKind, kSite, kTime, kTimeMicros, kArrival, kColVersion, kVisible };
// The hidden ones: the arguments.
enum { kArgTable = kVisible, kArgPk, kArgColumn, kArgAt };

constexpr char kVisibleColumns[] =
    "\"column\" TEXT, value ANY, event TEXT, position INTEGER, kind TEXT, site BLOB, time TEXT, "
    "time_micros INTEGER, arrival TEXT, col_version INTEGER";

using Row = std::vector<Value>;

Row ProvenanceRow(std::string column, Value value, const std::optional<engine::Provenance>& p) {
  Row row(kVisible, Value::Null());
  row[kColumn] = Value::Text(column);
  row[kValue] = std::move(value);
  if (!p) return row;
  row[kEvent] = Value::Text(log::ToHex(p->event));
  row[kPosition] = Value::Integer(static_cast<int64_t>(p->position));
  row[kKind] = Value::Text(log::EventKindName(p->kind));
  row[kSite] = Value::Blob(log::AsBytes(p->site));
  // Imports carry no clock of their writer.
  if (p->kind != log::EventKind::kImport) {
    row[kTime] = Value::Text(FormatTime(p->time_micros, TimeDigits::kMicros));
    row[kTimeMicros] = Value::Integer(p->time_micros);
  }
  if (p->arrival_micros) row[kArrival] = Value::Text(FormatTime(*p->arrival_micros, TimeDigits::kMicros));
  row[kColVersion] = Value::Integer(static_cast<int64_t>(p->col_version));
  return row;
}

// The row's existence, named as crsql_changes names it.
constexpr char kExistence[] = "-1";

struct BlameVtab {
  sqlite3_vtab base{};
  Connection* conn = nullptr;
  bool history = false;  // crlog_cell_history, else crlog_blame
};

using BlameCursor = RowCursor<Row>;

int Connect(sqlite3* db, void* aux, bool history, sqlite3_vtab** out) {
  std::string sql = absl::StrCat("CREATE TABLE x(", kVisibleColumns, ", \"table\" HIDDEN, pk HIDDEN",
                                 history ? ", only_column HIDDEN, at HIDDEN" : "", ")");
  int rc = sqlite3_declare_vtab(db, sql.c_str());
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  auto* v = new BlameVtab();
  v->conn = static_cast<Connection*>(aux);
  v->history = history;
  *out = &v->base;
  return SQLITE_OK;
}
int ConnectBlame(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  return Connect(db, aux, false, out);
}
int ConnectHistory(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  return Connect(db, aux, true, out);
}

int Disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab->zErrMsg);
  delete reinterpret_cast<BlameVtab*>(vtab);
  return SQLITE_OK;
}

// Arguments are equality constraints on the hidden columns, passed to
// xFilter in column order; idxNum has bit (column - kArgTable) for each.
int BestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  auto* v = reinterpret_cast<BlameVtab*>(vtab);
  int last_arg = v->history ? kArgAt : kArgPk;
  int found[kArgAt - kArgTable + 1] = {-1, -1, -1, -1};
  int unusable = 0;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn < kArgTable || c.iColumn > last_arg) continue;
    int bit = c.iColumn - kArgTable;
    if (!c.usable) {
      unusable |= 1 << bit;
    } else if (c.op == SQLITE_INDEX_CONSTRAINT_EQ) {
      found[bit] = i;
    }
  }
  int idx = 0;
  for (int bit = 0; bit <= last_arg - kArgTable; ++bit) {
    if (found[bit] >= 0) idx |= 1 << bit;
  }
  // An argument that is only known in another join order: try that order.
  if (unusable & ~idx) return SQLITE_CONSTRAINT;
  int arg = 0;
  for (int bit = 0; bit <= last_arg - kArgTable; ++bit) {
    if (found[bit] < 0) continue;
    info->aConstraintUsage[found[bit]].argvIndex = ++arg;
    info->aConstraintUsage[found[bit]].omit = 1;
  }
  info->idxNum = idx;
  // Without a table and a pk there is nothing to answer; xFilter says so.
  info->estimatedCost = (idx & 3) == 3 ? 10 : 1e12;
  info->estimatedRows = 10;
  return SQLITE_OK;
}

// A blob is a packed pk already; any other value is a one-column pk.
std::string PackedPk(sqlite3_value* v) {
  if (sqlite3_value_type(v) == SQLITE_BLOB) {
    return std::string(static_cast<const char*>(sqlite3_value_blob(v)), sqlite3_value_bytes(v));
  }
  return schema::PackColumns({sqlite::FromSqlite(v)});
}

absl::Status Fill(BlameVtab* v, int idx, int argc, sqlite3_value** argv, std::vector<Row>* rows) {
  Connection* conn = v->conn;
  if (absl::Status s = conn->Ready(); !s.ok()) return s;
  const char* fn = v->history ? "crlog_cell_history" : "crlog_blame";
  sqlite3_value* args[4] = {nullptr, nullptr, nullptr, nullptr};
  int next = 0;
  for (int bit = 0; bit < 4; ++bit) {
    if ((idx & (1 << bit)) && next < argc) args[bit] = argv[next++];
  }
  if (args[0] == nullptr || args[1] == nullptr || sqlite3_value_type(args[0]) != SQLITE_TEXT) {
    return absl::InvalidArgumentError(absl::StrCat(
        fn, " takes a table name and a pk", v->history ? " (then optionally a column and a point)" : "",
        ": SELECT * FROM ", fn, "('todo', 1), or crsql_pack_columns(...) for a pk of several columns"));
  }
  std::string table = TextArg(args[0]);
  std::string pk = PackedPk(args[1]);
  auto named = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(fn, ": ", s.message()));
  };

  if (!v->history) {
    auto blame = engine::BlameRow(conn->db, conn->replica->log(), table, pk);
    if (!blame.ok()) return named(blame.status());
    if (blame->existence) {
      rows->push_back(ProvenanceRow(kExistence, Value::Integer(blame->exists ? 1 : 0), blame->existence));
    }
    for (const engine::CellBlame& cell : blame->cells) {
      rows->push_back(ProvenanceRow(cell.column, cell.value, cell.written_by));
    }
    return absl::OkStatus();
  }

  std::optional<std::string> only_column;
  if (args[2] != nullptr && sqlite3_value_type(args[2]) != SQLITE_NULL) only_column = TextArg(args[2]);
  std::string at = args[3] != nullptr && sqlite3_value_type(args[3]) != SQLITE_NULL ? TextArg(args[3]) : "head";
  auto point = ResolvePointHere(conn, at);
  if (!point.ok()) return named(point.status());
  auto history = engine::RowHistory(conn->replica->log(), *point, table, pk, ReplayOptionsFor(conn));
  if (!history.ok()) return named(history.status());
  for (const engine::CellVersion& version : *history) {
    std::string column = version.column.empty() ? kExistence : version.column;
    if (only_column && column != *only_column) continue;
    rows->push_back(ProvenanceRow(column, version.value, version.written_by));
  }
  return absl::OkStatus();
}

int Filter(sqlite3_vtab_cursor* cur, int idx, const char*, int argc, sqlite3_value** argv) {
  return BlameCursor::Filter(cur, [&](std::vector<Row>* rows) {
    return Fill(reinterpret_cast<BlameVtab*>(cur->pVtab), idx, argc, argv, rows);
  });
}

int Column(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) {
  // Hidden columns read back as NULL: the arguments are not kept.
  if (col < kVisible) ResultValue(ctx, BlameCursor::Of(cur)->row()[col]);
  return SQLITE_OK;
}

sqlite3_module MakeModule(BlameCursor::Connect connect) {
  return BlameCursor::ReadOnlyModule(connect, BestIndex, Disconnect, Filter, Column);
}

sqlite3_module kBlameModule = MakeModule(ConnectBlame);
sqlite3_module kCellHistoryModule = MakeModule(ConnectHistory);

}  // namespace

int RegisterBlameModules(sqlite3* db, Connection* conn) {
  int rc = sqlite3_create_module_v2(db, "crlog_blame", ScopedModule<&kBlameModule>(conn->api_slot), conn, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_create_module_v2(db, "crlog_cell_history", ScopedModule<&kCellHistoryModule>(conn->api_slot), conn, nullptr);
  return rc;
}

}  // namespace crlog::extension
