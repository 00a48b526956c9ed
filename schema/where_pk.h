// A table's row named by its primary key in SQL text that crlog builds:
// `"a" = ?1 AND "b" = ?2`, for statements that bind a key's values, and
// `"a" = NEW."a" AND ...`, for a row matched to another row of the same key.
// Column names are quoted (util/sqlite/quote.h); values are never pasted.
#ifndef CRLOG_SCHEMA_WHERE_PK_H_
#define CRLOG_SCHEMA_WHERE_PK_H_

#include <string>
#include <string_view>

#include "absl/types/span.h"
#include "schema/table_info.h"

namespace crlog::schema {

// `"a" = ?1 AND "b" = ?2` over `pk` (column names, pk order), so that the
// key's values bind in pk order. `first_parameter` numbers the first
// placeholder, for a statement that binds other values before the key;
// `qualifier` goes before each column ("x.": a table alias). Empty `pk`
// gives "" (a replicated table always has a key).
std::string WherePk(absl::Span<const std::string> pk, int first_parameter = 1,
                    std::string_view qualifier = "");
// The same over the pk of `info`.
std::string WherePk(const TableInfo& info, int first_parameter = 1, std::string_view qualifier = "");

// `"a" = NEW."a" AND "b" = NEW."b"`: each column of `pk`, after `qualifier`,
// equals the column of the row `other` names ("NEW.", "y."), whose name is
// `other_name_prefix` + the column's ("after_": NEW."after_a"). Any columns
// matched by name work (a fractional index's list columns too). Empty `pk`
// gives "".
std::string PkEquals(absl::Span<const std::string> pk, std::string_view other, std::string_view qualifier = "",
                     std::string_view other_name_prefix = "");

}  // namespace crlog::schema

#endif  // CRLOG_SCHEMA_WHERE_PK_H_
