// Primary keys as text, the CLI's way (tools/pk_text.h).
#include "tools/pk_text.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "crlog/history.h"
#include "crlog/ids.h"

namespace crlog::tools {

std::string PackIntegerPk(absl::Span<const int64_t> columns) {
  std::vector<Value> values;
  for (int64_t c : columns) values.push_back(Value::Integer(c));
  return PackPrimaryKey(values);
}

std::optional<std::vector<Value>> UnpackPk(std::string_view packed) {
  auto values = UnpackPrimaryKey(packed);
  if (!values.ok()) return std::nullopt;
  return *std::move(values);
}

std::string PkToString(std::string_view packed) {
  std::optional<std::vector<Value>> values = UnpackPk(packed);
  if (!values) return absl::StrCat("X'", ToHex(packed), "'");
  return absl::StrCat("[",
                      absl::StrJoin(*values, ", ",
                                    [](std::string* out, const Value& v) {
                                      absl::StrAppend(out, ValueToString(v));
                                    }),
                      "]");
}

std::string PkTuple(std::string_view packed) {
  std::optional<std::vector<Value>> values = UnpackPk(packed);
  if (!values) return absl::StrCat("X'", ToHex(packed), "'");
  return ValuesToString(*values);
}

Value PlainValue(std::string_view text) {
  const absl::string_view t(text.data(), text.size());
  if (t.size() >= 2 && t.front() == '\'' && t.back() == '\'') {
    return Value::Text(absl::StrReplaceAll(t.substr(1, t.size() - 2), {{"''", "'"}}));
  }
  if (t.size() >= 3 && (t[0] == 'X' || t[0] == 'x') && t[1] == '\'' && t.back() == '\'' && t.size() % 2 == 1) {
    absl::string_view hex = t.substr(2, t.size() - 3);
    if (std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
      return Value::Blob(absl::HexStringToBytes(hex));
    }
  }
  int64_t i;
  if (absl::SimpleAtoi(t, &i)) return Value::Integer(i);
  double d;
  if (absl::SimpleAtod(t, &d) && t.find_first_of(".eE") != absl::string_view::npos) return Value::Real(d);
  return Value::Text(text);
}

absl::Status CheckPlainValues(absl::Span<const std::string> values) {
  for (const std::string& v : values) {
    const absl::string_view t(v.data(), v.size());
    if (t.size() < 3 || (t[0] != 'X' && t[0] != 'x') || t[1] != '\'' || t.back() != '\'') continue;
    absl::string_view hex = t.substr(2, t.size() - 3);
    if (hex.size() % 2 != 0 || !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the pk value ", v, " is not a blob literal: X'...' takes an even number of hex digits (X'00ff'); "
          "quote it ('", absl::StrReplaceAll(t, {{"'", "''"}}), "') to mean that text"));
    }
  }
  return absl::OkStatus();
}

std::string PackPlainPk(absl::Span<const std::string> values) {
  std::vector<Value> pk;
  for (const std::string& v : values) pk.push_back(PlainValue(v));
  return PackPrimaryKey(pk);
}

}  // namespace crlog::tools
