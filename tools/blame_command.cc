// `crlog blame DB TABLE PK...`: who wrote each cell of a row, from the
// database's clock (engine::BlameRow); with --history, every value each cell
// held, from a replay of the row (engine::RowHistory).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/blame.h"
#include "engine/history_db.h"
#include "engine/sql.h"
#include "log/hash.h"
#include "schema/affinity.h"
#include "schema/packed_pk.h"
#include "schema/table_info.h"
#include "tools/commands.h"
#include "tools/history_view.h"
#include "tools/output.h"
#include "tools/packed_pk.h"

namespace crlog::tools {
namespace {

using schema::Affinity;
using schema::AffinityOf;

// A pk value typed on the command line as the column would have stored it:
// `42` names the text '42' in a TEXT column, `3.0` the integer 3 in an
// INTEGER one, as SQLite's affinity would have turned an insert of them.
Value AsStored(const std::string& typed, const std::string& declared_type) {
  Value v = PlainValue(typed);
  switch (AffinityOf(declared_type)) {
    case Affinity::kText:
      if (v.type == ValueType::kInteger || v.type == ValueType::kReal) return Value::Text(typed);
      return v;
    case Affinity::kInteger:
    case Affinity::kNumeric:
    case Affinity::kReal: {
      double d;
      if (v.type == ValueType::kText) {
        int64_t i;
        if (absl::SimpleAtoi(v.bytes, &i)) {
          v = Value::Integer(i);
        } else if (absl::SimpleAtod(v.bytes, &d) && std::isfinite(d)) {
          v = Value::Real(d);
        }
      }
      if (AffinityOf(declared_type) == Affinity::kReal) {
        if (v.type == ValueType::kInteger) return Value::Real(static_cast<double>(v.integer));
        return v;
      }
      if (v.type == ValueType::kReal && v.real == std::trunc(v.real) && std::fabs(v.real) < 9.2e18) {
        return Value::Integer(static_cast<int64_t>(v.real));
      }
      return v;
    }
    case Affinity::kBlob:
      return v;
  }
  return v;
}

// The pk as the table stores it, when the table is replicated and the
// number of values is right; else the plain values (BlameRow then says
// what is wrong).
std::string PackForTable(sqlite3* db, const BlameOptions& options) {
  auto name = engine::Stmt::Prepare(db, "SELECT name FROM main.crlog_tables WHERE name = ?1 COLLATE NOCASE");
  if (name.ok()) {
    name->BindText(1, options.table);
    auto row = name->Step();
    if (row.ok() && *row) {
      auto info = schema::ReadTableInfo(db, "main", name->ColumnText(0));
      if (info.ok() && info->pk.size() == options.pk.size()) {
        std::vector<Value> values;
        for (size_t i = 0; i < options.pk.size(); ++i) {
          values.push_back(AsStored(options.pk[i], info->columns[info->pk[i]].declared_type));
        }
        return schema::PackColumns(values);
      }
    }
  }
  return PackPlainPk(options.pk);
}

std::vector<std::string> ProvenanceCells(const std::optional<engine::Provenance>& p) {
  if (!p) return {"-", "-", "-"};
  return {log::ShortHex(p->event), ShortSite(p->site), ProvenanceTime(*p)};
}

// "alive", "alive (resurrected by 3a79ca01d64a, site a11ce000, TIME)",
// "deleted by 3a79ca01d64a (site a11ce000, TIME)".
std::string ExistenceText(const engine::RowBlame& b) {
  if (!b.existence) return b.exists ? "alive" : "deleted";
  const std::string event = log::ShortHex(b.existence->event);
  const std::string where = absl::StrCat("site ", ShortSite(b.existence->site), ", ", ProvenanceTime(*b.existence));
  if (!b.exists) return absl::StrCat("deleted by ", event, " (", where, ")");
  return absl::StrCat("alive (", b.causal_length > 1 ? "resurrected" : "inserted", " by ", event, ", ", where, ")");
}

// Each column's entries (the row's existence first, as "(row)"), oldest
// first, columns in table order and then any the table no longer has.
std::vector<std::vector<std::string>> HistoryLines(const engine::RowBlame& blame,
                                                   const std::vector<engine::CellVersion>& history) {
  std::vector<std::string> order = {""};
  for (const engine::CellBlame& c : blame.cells) order.push_back(c.column);
  for (const engine::CellVersion& v : history) {
    if (std::find(order.begin(), order.end(), v.column) == order.end()) order.push_back(v.column);
  }
  std::vector<std::vector<std::string>> rows;
  for (const std::string& column : order) {
    for (const engine::CellVersion& v : history) {
      if (v.column != column) continue;
      std::vector<std::string> row = {column.empty() ? "(row)" : column,
                                      column.empty() ? (v.value.integer != 0 ? "alive" : "deleted")
                                                     : ValueToString(v.value)};
      for (std::string& s : ProvenanceCells(v.written_by)) row.push_back(std::move(s));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

void PrintText(const engine::RowBlame& blame, const std::optional<std::vector<engine::CellVersion>>& history,
               std::ostream& out) {
  out << "table '" << blame.table << "' row " << PkTuple(blame.pk) << ": " << ExistenceText(blame) << "\n";
  if (!blame.cells.empty()) {
    std::vector<std::vector<std::string>> rows = {{"column", "value", "event", "site", "time"}};
    for (const engine::CellBlame& c : blame.cells) {
      std::vector<std::string> row = {c.column, ValueToString(c.value)};
      for (std::string& s : ProvenanceCells(c.written_by)) row.push_back(std::move(s));
      rows.push_back(std::move(row));
    }
    out << Columns(rows, "  ");
  }
  if (history) {
    out << "history, oldest first:\n";
    std::vector<std::vector<std::string>> rows = HistoryLines(blame, *history);
    if (rows.empty()) {
      out << "  (no event wrote this row)\n";
    } else {
      out << Columns(rows, "  ");
    }
  }
}

void PrintJson(const engine::RowBlame& blame, const std::optional<std::vector<engine::CellVersion>>& history,
               std::ostream& out) {
  auto provenance = [](const std::optional<engine::Provenance>& p) { return p ? ProvenanceToJson(*p) : Json(); };
  Json json;
  json["table"] = JsonText(blame.table);
  json["pk"] = PkToJson(blame.pk);
  json["exists"] = blame.exists;
  json["causal_length"] = blame.causal_length;
  json["existence"] = provenance(blame.existence);
  json["cells"] = Json::array();
  for (const engine::CellBlame& c : blame.cells) {
    json["cells"].push_back(
        Json{{"column", JsonText(c.column)}, {"value", ValueToJson(c.value)}, {"written_by", provenance(c.written_by)}});
  }
  if (history) {
    json["history"] = Json::array();
    for (const engine::CellVersion& v : *history) {
      // The row's own entries (its existence) have no column.
      Json entry;
      entry["column"] = v.column.empty() ? Json() : JsonText(v.column);
      if (v.column.empty()) {
        entry["alive"] = v.value.integer != 0;
      } else {
        entry["value"] = ValueToJson(v.value);
      }
      entry["written_by"] = ProvenanceToJson(v.written_by);
      json["history"].push_back(std::move(entry));
    }
  }
  out << DumpJson(json) << "\n";
}

}  // namespace

absl::Status RunBlame(const BlameOptions& options, const Io& io) {
  if (absl::Status s = CheckPlainValues(options.pk); !s.ok()) return s;
  auto db = engine::HistoryDb::Open(options.path);
  if (!db.ok()) return db.status();
  const std::string pk = PackForTable((*db)->db(), options);
  auto blame = engine::BlameRow((*db)->db(), (*db)->store(), options.table, pk);
  if (!blame.ok()) return blame.status();

  std::optional<std::vector<engine::CellVersion>> history;
  if (options.history) {
    auto head = (*db)->Resolve("head");
    if (!head.ok()) return head.status();
    ProgressLine progress(io.err, io.err_is_terminal, "replaying the row");
    engine::ReplayOptions replay = (*db)->Options();
    replay.progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
    auto versions = engine::RowHistory((*db)->store(), *head, blame->table, pk, replay);
    progress.Clear();
    if (!versions.ok()) return versions.status();
    history = *std::move(versions);
  }
  if (options.json) {
    PrintJson(*blame, history, io.out);
  } else {
    PrintText(*blame, history, io.out);
  }
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
