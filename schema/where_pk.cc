// A row by its primary key, in SQL text (schema/where_pk.h).
#include "schema/where_pk.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "util/sqlite/quote.h"
#include "util/strings.h"

namespace crlog::schema {

std::string WherePk(absl::Span<const std::string> pk, int first_parameter, std::string_view qualifier) {
  std::string out;
  for (size_t i = 0; i < pk.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : " AND ", Sv(qualifier), sqlite::QuoteIdentifier(pk[i]), " = ?",
                    first_parameter + static_cast<int>(i));
  }
  return out;
}

std::string WherePk(const TableInfo& info, int first_parameter, std::string_view qualifier) {
  std::vector<std::string> pk;
  pk.reserve(info.pk.size());
  for (int i : info.pk) pk.push_back(info.columns[i].name);
  return WherePk(pk, first_parameter, qualifier);
}

std::string PkEquals(absl::Span<const std::string> pk, std::string_view other, std::string_view qualifier,
                     std::string_view other_name_prefix) {
  std::string out;
  for (size_t i = 0; i < pk.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : " AND ", Sv(qualifier), sqlite::QuoteIdentifier(pk[i]), " = ", Sv(other),
                    sqlite::QuoteIdentifier(absl::StrCat(Sv(other_name_prefix), pk[i])));
  }
  return out;
}

}  // namespace crlog::schema
