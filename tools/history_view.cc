// Rendering for the history commands (tools/history_view.h).
#include "tools/history_view.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "crlog/ids.h"
#include "tools/output.h"
#include "tools/pk_text.h"

namespace crlog::tools {

Json ValueToJson(const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: return v.integer;
    case ValueType::kReal:
      // JSON has no number for these; spelled like a blob, so that no text
      // value can be mistaken for one.
      if (std::isinf(v.real)) return Json{{"real", v.real > 0 ? "Infinity" : "-Infinity"}};
      if (std::isnan(v.real)) return Json{{"real", "NaN"}};
      // nlohmann writes the shortest text that reads back as the same
      // double, always with a '.' or an exponent.
      return v.real;
    case ValueType::kText: return JsonText(v.bytes);
    case ValueType::kBlob: return Json{{"blob", ToHex(v.bytes)}};
    case ValueType::kNull: return nullptr;
  }
  return nullptr;
}

std::string ValueJson(const Value& v) { return DumpJson(ValueToJson(v)); }

Json PkToJson(std::string_view packed) {
  std::optional<std::vector<Value>> values = UnpackPk(packed);
  if (!values) return ToHex(packed);
  Json array = Json::array();
  for (const Value& v : *values) array.push_back(ValueToJson(v));
  return array;
}

std::string PkJson(std::string_view packed) { return DumpJson(PkToJson(packed)); }

std::string ProvenanceTime(const Provenance& p) {
  if (p.kind != EventKind::kImport) return FormatTime(p.time_micros);
  if (p.arrival_micros) return absl::StrCat(FormatTime(*p.arrival_micros), " (arrived)");
  return "-";
}

Json ProvenanceToJson(const Provenance& p) {
  const bool timed = p.kind != EventKind::kImport;
  Json json;
  json["event"] = ToHex(p.event);
  json["position"] = p.position;
  json["kind"] = EventKindName(p.kind);
  json["site"] = ToHex(p.site);
  json["time_micros"] = timed ? Json(p.time_micros) : Json();
  json["time"] = timed ? Json(FormatTime(p.time_micros)) : Json();
  json["arrival_micros"] = p.arrival_micros ? Json(*p.arrival_micros) : Json();
  json["arrival"] = p.arrival_micros ? Json(FormatTime(*p.arrival_micros)) : Json();
  json["col_version"] = p.col_version;
  return json;
}

std::string Columns(const std::vector<std::vector<std::string>>& rows, std::string_view indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    out.append(indent);
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - row[i].size() + 2, ' ');
    }
    // Trailing blanks of empty last cells are noise in a terminal and a diff.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  }
  return out;
}

}  // namespace crlog::tools
