// Quoting names for SQL text that crlog builds (triggers, queries over a
// replicated table). Values never go into SQL text: bind them.
#ifndef CRLOG_UTIL_SQLITE_QUOTE_H_
#define CRLOG_UTIL_SQLITE_QUOTE_H_

#include <string>
#include <string_view>

namespace crlog::sqlite {

// Returns `name` as a SQL identifier: wrapped in double quotes, each embedded
// double quote doubled (my "odd" table -> "my ""odd"" table"). Any byte
// string is accepted, including the empty name; the result always names
// exactly `name` to SQLite. Also used to show names in error messages, so a
// name with spaces or quotes reads unambiguously.
std::string QuoteIdentifier(std::string_view name);

}  // namespace crlog::sqlite

#endif  // CRLOG_UTIL_SQLITE_QUOTE_H_
