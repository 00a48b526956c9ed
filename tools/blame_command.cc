// `crlog blame DB TABLE PK...`: who wrote each cell of a row, from the
// database's clock (crlog::History::Blame); with --history, every value each
// cell held, from a replay of the row (crlog::History::CellHistory).
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crlog/history.h"
#include "crlog/ids.h"
#include "tools/commands.h"
#include "tools/history_view.h"
#include "tools/output.h"
#include "tools/pk_text.h"

namespace crlog::tools {
namespace {

std::vector<std::string> ProvenanceCells(const std::optional<Provenance>& p) {
  if (!p) return {"-", "-", "-"};
  return {ShortHex(p->event), ShortSite(p->site), ProvenanceTime(*p)};
}

// "alive", "alive (resurrected by 3a79ca01d64a, site a11ce000, TIME)",
// "deleted by 3a79ca01d64a (site a11ce000, TIME)".
std::string ExistenceText(const RowBlame& b) {
  if (!b.existence) return b.exists ? "alive" : "deleted";
  const std::string event = ShortHex(b.existence->event);
  const std::string where = absl::StrCat("site ", ShortSite(b.existence->site), ", ", ProvenanceTime(*b.existence));
  if (!b.exists) return absl::StrCat("deleted by ", event, " (", where, ")");
  return absl::StrCat("alive (", b.causal_length > 1 ? "resurrected" : "inserted", " by ", event, ", ", where, ")");
}

// Each column's entries (the row's existence first, as "(row)"), oldest
// first, columns in table order and then any the table no longer has.
std::vector<std::vector<std::string>> HistoryLines(const RowBlame& blame,
                                                   const std::vector<CellVersion>& history) {
  std::vector<std::string> order = {""};
  for (const CellBlame& c : blame.cells) order.push_back(c.column);
  for (const CellVersion& v : history) {
    if (std::find(order.begin(), order.end(), v.column) == order.end()) order.push_back(v.column);
  }
  std::vector<std::vector<std::string>> rows;
  for (const std::string& column : order) {
    for (const CellVersion& v : history) {
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

void PrintText(const RowBlame& blame, const std::optional<std::vector<CellVersion>>& history,
               std::ostream& out) {
  out << "table '" << blame.table << "' row " << PkTuple(blame.pk) << ": " << ExistenceText(blame) << "\n";
  if (!blame.cells.empty()) {
    std::vector<std::vector<std::string>> rows = {{"column", "value", "event", "site", "time"}};
    for (const CellBlame& c : blame.cells) {
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

void PrintJson(const RowBlame& blame, const std::optional<std::vector<CellVersion>>& history,
               std::ostream& out) {
  auto provenance = [](const std::optional<Provenance>& p) { return p ? ProvenanceToJson(*p) : Json(); };
  Json json;
  json["table"] = JsonText(blame.table);
  json["pk"] = PkToJson(blame.pk);
  json["exists"] = blame.exists;
  json["causal_length"] = blame.causal_length;
  json["existence"] = provenance(blame.existence);
  json["cells"] = Json::array();
  for (const CellBlame& c : blame.cells) {
    json["cells"].push_back(
        Json{{"column", JsonText(c.column)}, {"value", ValueToJson(c.value)}, {"written_by", provenance(c.written_by)}});
  }
  if (history) {
    json["history"] = Json::array();
    for (const CellVersion& v : *history) {
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
  auto history = History::Open(options.path);
  if (!history.ok()) return history.status();
  // Typed values; Blame converts each by its column's affinity.
  std::vector<Value> pk;
  for (const std::string& v : options.pk) pk.push_back(PlainValue(v));
  auto blame = (*history)->Blame(options.table, pk);
  if (!blame.ok()) return blame.status();

  std::optional<std::vector<CellVersion>> versions;
  if (options.history) {
    ProgressLine progress(io.err, io.err_is_terminal, "replaying the row");
    auto cells = (*history)->CellHistory(blame->table, pk, "head",
                                         [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
    progress.Clear();
    if (!cells.ok()) return cells.status();
    versions = *std::move(cells);
  }

  if (options.json) {
    PrintJson(*blame, versions, io.out);
  } else {
    PrintText(*blame, versions, io.out);
  }
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
