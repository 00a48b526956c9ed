// Display helpers for packed pks (tools/packed_pk.h).
#include "tools/packed_pk.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "log/hash.h"
#include "schema/packed_pk.h"

namespace crlog::tools {

std::string PackIntegerPk(absl::Span<const int64_t> columns) {
  std::vector<Value> values;
  for (int64_t c : columns) values.push_back(Value::Integer(c));
  return schema::PackColumns(values);
}

std::optional<std::vector<Value>> UnpackPk(std::string_view packed) {
  auto values = schema::UnpackColumns(packed);
  if (!values.ok()) return std::nullopt;
  return *std::move(values);
}

std::string PkToString(std::string_view packed) {
  std::optional<std::vector<Value>> values = UnpackPk(packed);
  if (!values) return absl::StrCat("X'", log::ToHex(packed), "'");
  return absl::StrCat("[",
                      absl::StrJoin(*values, ", ",
                                    [](std::string* out, const Value& v) {
                                      absl::StrAppend(out, ValueToString(v));
                                    }),
                      "]");
}

}  // namespace crlog::tools
