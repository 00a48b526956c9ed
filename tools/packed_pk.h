// cr-sqlite's packed primary-key format, as far as the CLI needs it: packing
// integer pks (the demo) and unpacking any pk for display.
//
// Layout: 1 byte column count, then per column a header byte (n << 3) | type
// with SQLite's type numbers, then the payload:
//   integer (1): n big-endian bytes, minimal (0 uses none; negative uses 8)
//   real    (2): 8 bytes big-endian IEEE-754 (n = 0)
//   text    (3), blob (4): the length in n big-endian bytes, then the bytes
//   null    (5): nothing
//
// A stop-gap: schema/ will own pk packing once it exists, and this file goes.
#ifndef CRLOG_TOOLS_PACKED_PK_H_
#define CRLOG_TOOLS_PACKED_PK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "log/value.h"

namespace crlog::tools {

// Packs a pk of integer columns. Requires at most 255 columns.
std::string PackIntegerPk(absl::Span<const int64_t> columns);

// Unpacks a pk; nullopt when the bytes are not a well-formed packed pk.
std::optional<std::vector<Value>> UnpackPk(std::string_view packed);

// "[1]", "[1, 'a']", or X'..' when the bytes do not unpack.
std::string PkToString(std::string_view packed);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_PACKED_PK_H_
