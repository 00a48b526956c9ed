// History from SQL: crlog_events (one row per published event) and crlog_ops
// (one row per operation), so "who changed this row, and when" is a SELECT:
//
//   SELECT time, site, cid, val FROM crlog_ops
//    WHERE "table" = 'todo' AND pk = crsql_pack_columns(1);
//
// Both are eponymous and read-only. They scan the log in arrival order; an
// equality on "table" or pk filters while scanning.
#include "util/sqlite/api.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crlog/time.h"
#include "absl/strings/str_join.h"
#include "extension/connection.h"
#include "extension/row_cursor.h"
#include "log/event.h"
#include "log/row_codec.h"

namespace crlog::extension {
namespace {

using Cell = std::optional<Value>;  // nullopt: SQL NULL
using Row = std::vector<Value>;

struct HistoryVtab {
  sqlite3_vtab base{};
  Connection* conn = nullptr;
  bool ops = false;  // crlog_ops, else crlog_events
};

using HistoryCursor = RowCursor<Row>;

// crlog_events columns
enum { kEvHash, kEvKind, kEvSite, kEvSeq, kEvLamport, kEvTime, kEvTimeMicros, kEvParents, kEvOps, kEvPosition };
// crlog_ops columns
enum { kOpEvent, kOpPosition, kOpSite, kOpSeq, kOpTime, kOpTimeMicros, kOpTable, kOpPk, kOpCid, kOpVal,
       kOpColVersion, kOpCl, kOpOrigin };

constexpr int kTableEq = 1, kPkEq = 2;

int Connect(sqlite3* db, void* aux, int, const char* const* argv, sqlite3_vtab** out, char**, bool ops) {
  (void)argv;
  int rc = sqlite3_declare_vtab(
      db, ops ? "CREATE TABLE x(event TEXT, position INTEGER, site BLOB, seq INTEGER, time TEXT, "
                "time_micros INTEGER, \"table\" TEXT, pk BLOB, cid TEXT, val ANY, col_version INTEGER, "
                "cl INTEGER, origin BLOB)"
              : "CREATE TABLE x(hash TEXT, kind TEXT, site BLOB, seq INTEGER, lamport INTEGER, time TEXT, "
                "time_micros INTEGER, parents TEXT, ops INTEGER, position INTEGER)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  auto* v = new HistoryVtab();
  v->conn = static_cast<Connection*>(aux);
  v->ops = ops;
  *out = &v->base;
  return SQLITE_OK;
}
int ConnectEvents(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  (void)argc;
  return Connect(db, aux, argc, argv, out, err, false);
}
int ConnectOps(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  return Connect(db, aux, argc, argv, out, err, true);
}

int Disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab->zErrMsg);
  delete reinterpret_cast<HistoryVtab*>(vtab);
  return SQLITE_OK;
}

int BestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  auto* v = reinterpret_cast<HistoryVtab*>(vtab);
  int idx = 0, arg = 0;
  if (v->ops) {
    for (int pass = 0; pass < 2; ++pass) {
      for (int i = 0; i < info->nConstraint; ++i) {
        const auto& c = info->aConstraint[i];
        if (!c.usable || c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
        int bit = pass == 0 && c.iColumn == kOpTable ? kTableEq : pass == 1 && c.iColumn == kOpPk ? kPkEq : 0;
        if (bit == 0 || (idx & bit)) continue;
        idx |= bit;
        info->aConstraintUsage[i].argvIndex = ++arg;
        info->aConstraintUsage[i].omit = 1;
      }
    }
  }
  info->idxNum = idx;
  info->estimatedCost = idx ? 1e4 : 1e6;
  return SQLITE_OK;
}

std::string ArgText(sqlite3_value* v) {
  const void* p = sqlite3_value_type(v) == SQLITE_BLOB ? sqlite3_value_blob(v) : sqlite3_value_text(v);
  return p ? std::string(static_cast<const char*>(p), sqlite3_value_bytes(v)) : std::string();
}

// The rows of one scan, in arrival order.
absl::Status Collect(HistoryVtab* v, int idx, int argc, sqlite3_value** argv, std::vector<Row>* rows) {
  if (absl::Status s = v->conn->Ready(); !s.ok()) return s;
  std::optional<std::string> table_eq, pk_eq;
  int arg = 0;
  if ((idx & kTableEq) && arg < argc) table_eq = ArgText(argv[arg++]);
  if ((idx & kPkEq) && arg < argc) pk_eq = ArgText(argv[arg++]);
  absl::Status failure;
  absl::Status s = v->conn->replica->log().ForEach([&](const log::StoredEvent& stored) {
    auto e = stored.Decode();
    if (!e.ok()) {
      failure = e.status();
      return false;
    }
    Value hash = Value::Text(log::ToHex(stored.hash));
    Value site = e->kind == log::EventKind::kImport ? Value::Null() : Value::Blob(log::AsBytes(e->site));
    Value time = Value::Text(FormatTime(e->time_micros, TimeDigits::kMicros));
    if (!v->ops) {
      std::vector<std::string> parents;
      for (const auto& p : e->parents) parents.push_back(log::ToHex(p));
      rows->push_back(Row{hash, Value::Text(log::EventKindName(e->kind)), site,
                           Value::Integer(static_cast<int64_t>(e->seq)),
                           Value::Integer(static_cast<int64_t>(e->lamport)), time,
                           Value::Integer(e->time_micros), Value::Text(absl::StrJoin(parents, " ")),
                           Value::Integer(static_cast<int64_t>(e->CountOps())),
                           Value::Integer(static_cast<int64_t>(stored.position))});
      return true;
    }
    bool with_origins = e->kind == log::EventKind::kImport;
    for (const log::TableChanges& t : e->tables) {
      if (table_eq && t.table != *table_eq) continue;
      log::RowsReader reader(t.rows, with_origins);
      log::RowOp op;
      while (!reader.done()) {
        if (absl::Status rs = reader.Next(t.columns.size(), &op); !rs.ok()) {
          failure = rs;
          return false;
        }
        if (pk_eq && op.pk != *pk_eq) continue;
        auto push = [&](std::string cid, Value val, int64_t col_version, Value origin) {
          rows->push_back(Row{hash, Value::Integer(static_cast<int64_t>(stored.position)), site,
                              Value::Integer(static_cast<int64_t>(e->seq)), time,
                              Value::Integer(e->time_micros), Value::Text(t.table), Value::Blob(op.pk),
                              Value::Text(cid), std::move(val), Value::Integer(col_version),
                              Value::Integer(static_cast<int64_t>(op.causal_length)), std::move(origin)});
        };
        if (op.cells.empty()) {
          push("-1", Value::Null(), static_cast<int64_t>(op.causal_length), site);
        }
        for (const log::CellOp& cell : op.cells) {
          Value origin = with_origins && cell.origin < e->origins.size()
                             ? Value::Blob(log::AsBytes(e->origins[cell.origin]))
                             : site;
          push(t.columns[cell.column], cell.value, static_cast<int64_t>(cell.version), std::move(origin));
        }
      }
    }
    return true;
  });
  if (s.ok()) s = failure;
  return s;
}

int Filter(sqlite3_vtab_cursor* cur, int idx, const char*, int argc, sqlite3_value** argv) {
  return HistoryCursor::Filter(cur, [&](std::vector<Row>* rows) {
    return Collect(reinterpret_cast<HistoryVtab*>(cur->pVtab), idx, argc, argv, rows);
  });
}

int Column(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) {
  ResultValue(ctx, HistoryCursor::Of(cur)->row()[col]);
  return SQLITE_OK;
}

sqlite3_module MakeModule(HistoryCursor::Connect connect) {
  return HistoryCursor::ReadOnlyModule(connect, BestIndex, Disconnect, Filter, Column);
}

sqlite3_module kEventsModule = MakeModule(ConnectEvents);
sqlite3_module kOpsModule = MakeModule(ConnectOps);

}  // namespace

int RegisterHistoryModules(sqlite3* db, Connection* conn) {
  int rc = sqlite3_create_module_v2(db, "crlog_events", ScopedModule<&kEventsModule>(conn->api_slot), conn, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_create_module_v2(db, "crlog_ops", ScopedModule<&kOpsModule>(conn->api_slot), conn, nullptr);
  return rc;
}

}  // namespace crlog::extension
