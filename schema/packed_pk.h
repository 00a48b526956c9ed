// cr-sqlite's packed-columns format, the byte form of a primary key in
// crsql_changes.pk, in crsql_pack_columns() and in crlog's log. Byte for byte
// what cr-sqlite 0.16 produces (../shared/crsql-compat.md, "Packed pk
// format"):
//
//   packed  := count:u8 column*count
//   column  := header:u8 payload       header = (n << 3) | type
//   type 1 integer: n payload bytes, the value big-endian in the fewest bytes;
//                   0 has n = 0 and no payload; negatives always n = 8
//                   (two's complement). So 128 is 09 80, 256 is 11 01 00.
//   type 2 real:    n = 0, then 8 bytes of big-endian IEEE 754 double.
//   type 3 text,
//   type 4 blob:    n = number of bytes of the length; the length big-endian
//                   in n bytes (fewest bytes; n = 0 for empty), then the raw
//                   bytes (text is UTF-8, no terminator).
//   type 5 null:    n = 0, no payload.
//
// The type numbers are SQLite's storage classes, which are also the values of
// crlog::ValueType.
#ifndef CRLOG_SCHEMA_PACKED_PK_H_
#define CRLOG_SCHEMA_PACKED_PK_H_

#include "util/sqlite/api.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/value.h"

namespace crlog::schema {

// The count is one byte: a packed key holds at most this many columns.
// CheckReplicable (schema/table_info.h) refuses tables with a longer key.
inline constexpr size_t kMaxPackedColumns = 255;

// Appends one column (header and payload) to `*out`. Does not touch the count
// byte: callers building a key by hand write the count themselves.
void AppendPackedValue(std::string* out, const Value& v);

// Packs `values` in order: the count byte, then each column.
// REQUIRES: values.size() <= kMaxPackedColumns.
std::string PackColumns(absl::Span<const Value> values);

// Packs SQLite values directly, without building Values: the hot path of
// capture (one call per captured row) and of crsql_pack_columns(). Gives the
// same bytes as PackColumns of the equivalent Values. Text is taken as UTF-8.
// REQUIRES: 0 <= argc <= kMaxPackedColumns; argv holds argc valid values.
// Not thread-safe with respect to the values (reading text may convert a
// value's cached representation, as sqlite3_value_text always may).
std::string PackSqliteValues(int argc, sqlite3_value** argv);

// Unpacks a packed key. Accepts exactly the encodings the functions above
// produce, so PackColumns(*UnpackColumns(p)) == p for every accepted p and a
// key has one spelling only. Anything else is InvalidArgument, naming the
// column and byte offset at fault: empty input, a count promising more
// columns than present, bytes left over after the last column, an unknown
// type, n out of range for its type (n > 8, or n != 0 for real and null), a
// payload or length running past the end, and non-minimal integers or
// lengths (a leading zero byte). Never reads outside `packed`.
absl::StatusOr<std::vector<Value>> UnpackColumns(std::string_view packed);

}  // namespace crlog::schema

#endif  // CRLOG_SCHEMA_PACKED_PK_H_
