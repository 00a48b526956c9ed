// Rendering for the history commands (tools/history_view.h).
#include "tools/history_view.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "log/hash.h"
#include "tools/output.h"
#include "tools/packed_pk.h"

namespace crlog::tools {

std::string ValueJson(const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: return absl::StrCat(v.integer);
    case ValueType::kReal: {
      // JSON has no number for them; spelled like a blob, so that no text
      // value can be mistaken for one.
      if (std::isinf(v.real)) return v.real > 0 ? "{\"real\":\"Infinity\"}" : "{\"real\":\"-Infinity\"}";
      if (std::isnan(v.real)) return "{\"real\":\"NaN\"}";
      // Shortest text that reads back as the same double, and always with a
      // '.' or exponent so that a reader sees a real.
      std::string s = absl::StrFormat("%.17g", v.real);
      for (int precision = 1; precision < 17; ++precision) {
        std::string shorter = absl::StrFormat("%.*g", precision, v.real);
        if (std::stod(shorter) == v.real) {
          s = shorter;
          break;
        }
      }
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    case ValueType::kText: return JsonString(v.bytes);
    case ValueType::kBlob: return absl::StrCat("{\"blob\":\"", log::ToHex(v.bytes), "\"}");
    case ValueType::kNull: return "null";
  }
  return "null";
}

std::string PkJson(std::string_view packed) {
  std::optional<std::vector<Value>> values = UnpackPk(packed);
  if (!values) return JsonString(log::ToHex(packed));
  return absl::StrCat("[",
                      absl::StrJoin(*values, ",", [](std::string* out, const Value& v) {
                        absl::StrAppend(out, ValueJson(v));
                      }),
                      "]");
}

std::string ProvenanceTime(const engine::Provenance& p) {
  if (p.kind != log::EventKind::kImport) return FormatTime(p.time_micros);
  if (p.arrival_micros) return absl::StrCat(FormatTime(*p.arrival_micros), " (arrived)");
  return "-";
}

std::string ProvenanceJson(const engine::Provenance& p) {
  const bool timed = p.kind != log::EventKind::kImport;
  return absl::StrCat(
      "{\"event\":", JsonString(log::ToHex(p.event)), ",\"position\":", p.position,
      ",\"kind\":", JsonString(log::EventKindName(p.kind)), ",\"site\":", JsonString(log::ToHex(p.site)),
      ",\"time_micros\":", timed ? absl::StrCat(p.time_micros) : "null",
      ",\"time\":", timed ? JsonString(FormatTime(p.time_micros)) : "null",
      ",\"arrival_micros\":", p.arrival_micros ? absl::StrCat(*p.arrival_micros) : "null",
      ",\"arrival\":", p.arrival_micros ? JsonString(FormatTime(*p.arrival_micros)) : "null",
      ",\"col_version\":", p.col_version, "}");
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
