// `crlog diff DB POINT_A POINT_B`: the rows and cells that differ between two
// points of a database's history (crlog::History::Diff), readable or as JSON.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crlog/history.h"
#include "tools/commands.h"
#include "tools/history_view.h"
#include "tools/output.h"
#include "tools/pk_text.h"
#include "tools/safe_text.h"

namespace crlog::tools {
namespace {

// SQLite's order of values (NULL, numbers, text, blobs), so that the lines
// of a table come in the order of its primary key, as ORDER BY gives them.
int Rank(const Value& v) {
  switch (v.type) {
    case ValueType::kNull: return 0;
    case ValueType::kInteger:
    case ValueType::kReal: return 1;
    case ValueType::kText: return 2;
    case ValueType::kBlob: return 3;
  }
  return 0;
}

bool Less(const Value& a, const Value& b) {
  if (Rank(a) != Rank(b)) return Rank(a) < Rank(b);
  switch (Rank(a)) {
    case 1: {
      if (a.type == ValueType::kInteger && b.type == ValueType::kInteger) return a.integer < b.integer;
      const double x = a.type == ValueType::kInteger ? static_cast<double>(a.integer) : a.real;
      const double y = b.type == ValueType::kInteger ? static_cast<double>(b.integer) : b.real;
      return x < y;
    }
    case 2:
    case 3: return a.bytes < b.bytes;
    default: return false;
  }
}

bool PkLess(const std::vector<Value>& a, const std::vector<Value>& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), Less);
}

std::string Assignments(const std::vector<std::string>& columns, const std::vector<Value>& values) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < columns.size(); ++i) parts.push_back(absl::StrCat(columns[i], "=", ValueToString(values[i])));
  return absl::StrJoin(parts, ", ");
}

// One line per differing row, in pk order.
struct Line {
  const std::vector<Value>* pk;
  std::string text;
};

void PrintTable(const TableDiff& t, std::ostream& out) {
  const std::string name = absl::StrCat("table '", t.table, "'");
  for (const std::string& c : t.columns_only_in_a) out << name << ": - column '" << c << "' (only at A)\n";
  for (const std::string& c : t.columns_only_in_b) out << name << ": + column '" << c << "' (only at B)\n";
  if (t.pk_differs) out << name << ": the primary key differs between the points; rows not compared\n";
  std::vector<Line> lines;
  for (const ChangedRow& r : t.changed) {
    std::vector<std::string> cells;
    for (const CellChange& c : r.cells) {
      cells.push_back(absl::StrCat(c.column, " ", ValueToString(c.a), " -> ", ValueToString(c.b)));
    }
    lines.push_back({&r.pk_values, absl::StrCat(name, " row ", PkTuple(r.pk), ": ", absl::StrJoin(cells, ", "))});
  }
  for (const DiffRow& r : t.only_in_b) {
    lines.push_back({&r.pk_values, absl::StrCat(name, " + row ", PkTuple(r.pk),
                                                r.columns.empty() ? "" : ": ", Assignments(r.columns, r.values))});
  }
  for (const DiffRow& r : t.only_in_a) {
    lines.push_back({&r.pk_values, absl::StrCat(name, " - row ", PkTuple(r.pk),
                                                r.columns.empty() ? "" : ": ", Assignments(r.columns, r.values))});
  }
  std::stable_sort(lines.begin(), lines.end(), [](const Line& x, const Line& y) { return PkLess(*x.pk, *y.pk); });
  for (const Line& l : lines) out << l.text << "\n";
}

void PrintText(const DiffOptions& options, const PointDiff& d, std::ostream& out) {
  out << "--- A: " << options.a << " (" << d.a.events << " events)\n";
  out << "+++ B: " << options.b << " (" << d.b.events << " events)\n";
  for (const std::string& t : d.tables_only_in_a) out << "- table '" << t << "' (only at A)\n";
  for (const std::string& t : d.tables_only_in_b) out << "+ table '" << t << "' (only at B)\n";
  uint64_t rows = 0;
  for (const TableDiff& t : d.tables) {
    PrintTable(t, out);
    rows += t.changed.size() + t.only_in_a.size() + t.only_in_b.size();
  }
  if (d.empty()) {
    out << "no differences\n";
  } else {
    const size_t tables = d.tables.size() + d.tables_only_in_a.size() + d.tables_only_in_b.size();
    out << rows << (rows == 1 ? " row differs" : " rows differ") << "; " << tables
        << (tables == 1 ? " table differs" : " tables differ") << "\n";
  }
}

Json JsonTexts(const std::vector<std::string>& v) {
  Json array = Json::array();
  for (const std::string& s : v) array.push_back(JsonText(s));
  return array;
}

Json RowsJson(const std::vector<DiffRow>& rows) {
  Json array = Json::array();
  for (const DiffRow& r : rows) {
    Json values = Json::object();
    for (size_t i = 0; i < r.columns.size(); ++i) values[ValidUtf8(r.columns[i])] = ValueToJson(r.values[i]);
    array.push_back(Json{{"pk", PkToJson(r.pk)}, {"values", std::move(values)}});
  }
  return array;
}

Json TableJson(const TableDiff& t) {
  Json changed = Json::array();
  for (const ChangedRow& r : t.changed) {
    Json cells = Json::array();
    for (const CellChange& c : r.cells) {
      cells.push_back(Json{{"column", JsonText(c.column)}, {"a", ValueToJson(c.a)}, {"b", ValueToJson(c.b)}});
    }
    changed.push_back(Json{{"pk", PkToJson(r.pk)}, {"cells", std::move(cells)}});
  }
  Json json;
  json["table"] = JsonText(t.table);
  json["pk_columns"] = JsonTexts(t.pk_columns);
  json["columns_only_in_a"] = JsonTexts(t.columns_only_in_a);
  json["columns_only_in_b"] = JsonTexts(t.columns_only_in_b);
  json["pk_differs"] = t.pk_differs;
  json["only_in_a"] = RowsJson(t.only_in_a);
  json["only_in_b"] = RowsJson(t.only_in_b);
  json["changed"] = std::move(changed);
  return json;
}

// One object, with its tables one per line (a diff can be long).
void PrintJson(const DiffOptions& options, const PointDiff& d, std::ostream& out) {
  auto side = [](const std::string& point, const ReplayStats& s) {
    Json json;
    json["point"] = JsonText(point);
    json["events"] = s.events;
    json["folded"] = s.folded;
    json["ops"] = s.ops;
    json["tables"] = s.tables;
    return json;
  };
  Json head;
  head["a"] = side(options.a, d.a);
  head["b"] = side(options.b, d.b);
  head["tables_only_in_a"] = JsonTexts(d.tables_only_in_a);
  head["tables_only_in_b"] = JsonTexts(d.tables_only_in_b);
  out << JsonObjectOpen(head, "tables");
  JsonLinesArray tables(out);
  for (const TableDiff& t : d.tables) tables.Add(TableJson(t));
  tables.Close();
  out << "}\n";
}

}  // namespace

absl::Status RunDiff(const DiffOptions& options, const Io& io) {
  auto history = History::Open(options.path);
  if (!history.ok()) return history.status();
  ProgressLine progress(io.err, io.err_is_terminal, "replaying both points");
  auto d = (*history)->Diff(options.a, options.b,
                            [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
  progress.Clear();
  if (!d.ok()) return d.status();
  if (options.json) {
    PrintJson(options, *d, io.out);
  } else {
    PrintText(options, *d, io.out);
  }
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
