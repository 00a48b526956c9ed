#include "schema/affinity.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace crlog::schema {

Affinity AffinityOf(std::string_view declared_type) {
  const std::string t = absl::AsciiStrToUpper(std::string(declared_type));
  if (absl::StrContains(t, "INT")) return Affinity::kInteger;
  if (absl::StrContains(t, "CHAR") || absl::StrContains(t, "CLOB") || absl::StrContains(t, "TEXT")) {
    return Affinity::kText;
  }
  if (t.empty() || absl::StrContains(t, "BLOB")) return Affinity::kBlob;
  if (absl::StrContains(t, "REAL") || absl::StrContains(t, "FLOA") || absl::StrContains(t, "DOUB")) {
    return Affinity::kReal;
  }
  return Affinity::kNumeric;
}

const char* AffinityName(Affinity a) {
  switch (a) {
    case Affinity::kInteger: return "INTEGER";
    case Affinity::kText: return "TEXT";
    case Affinity::kBlob: return "BLOB";
    case Affinity::kReal: return "REAL";
    case Affinity::kNumeric: return "NUMERIC";
  }
  return "?";
}

namespace {

// Text SQLite's numeric affinities convert: a decimal integer or real
// literal, optionally surrounded by spaces (not hex, not empty).
bool ReadsAsNumber(const std::string& text) {
  std::string copy = text;
  absl::StripAsciiWhitespace(&copy);
  if (copy.empty()) return false;
  if (absl::StrContains(absl::AsciiStrToLower(copy), "x") || absl::StrContains(absl::AsciiStrToLower(copy), "n")) {
    return false;  // 0x10, inf, nan: SQLite keeps them as text
  }
  char* end = nullptr;
  std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

bool IsWholeReal(double d) {
  return std::isfinite(d) && d == std::trunc(d) && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18;
}

}  // namespace

bool AffinityConverts(Affinity a, const Value& v) {
  switch (a) {
    case Affinity::kBlob: return false;
    case Affinity::kText: return v.type == ValueType::kInteger || v.type == ValueType::kReal;
    case Affinity::kReal: return v.type == ValueType::kInteger || (v.type == ValueType::kText && ReadsAsNumber(v.bytes));
    case Affinity::kInteger:
    case Affinity::kNumeric:
      return (v.type == ValueType::kText && ReadsAsNumber(v.bytes)) ||
             (v.type == ValueType::kReal && IsWholeReal(v.real));
  }
  return false;
}

}  // namespace crlog::schema
