// Rendering of values for people: the CLI, error messages and logs.
#include "crlog/value.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/strings.h"
#include "absl/strings/str_replace.h"
#include "crlog/ids.h"

namespace crlog {

std::string ValueToString(const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: return absl::StrCat(v.integer);
    case ValueType::kReal: return absl::StrCat(v.real);
    case ValueType::kText: return absl::StrCat("'", absl::StrReplaceAll(v.bytes, {{"'", "''"}}), "'");
    case ValueType::kBlob: return absl::StrCat("X'", ToHex(v.bytes), "'");
    case ValueType::kNull: return "NULL";
  }
  return "?";
}

std::string ValuesToString(const std::vector<Value>& values) {
  return absl::StrCat("(",
                      absl::StrJoin(values, ", ", [](std::string* out, const Value& v) {
                        absl::StrAppend(out, ValueToString(v));
                      }),
                      ")");
}

}  // namespace crlog
