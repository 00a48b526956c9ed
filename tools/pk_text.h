// Primary keys as text, the CLI's way: shown as "(1, 'a')", typed as plain
// values (42, 'a', X'00ff'), and turned to and from the packed bytes
// (cr-sqlite's packed-columns format) over crlog/history.h's PackPrimaryKey
// and UnpackPrimaryKey. Not schema/packed_pk.h, the engine's own codec: the
// tools reach it only through the public API.
#ifndef CRLOG_TOOLS_PK_TEXT_H_
#define CRLOG_TOOLS_PK_TEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "crlog/value.h"

namespace crlog::tools {

// Packs a pk of integer columns. Requires at most 255 columns.
std::string PackIntegerPk(absl::Span<const int64_t> columns);

// Unpacks a pk; nullopt when the bytes are not a well-formed packed pk.
std::optional<std::vector<Value>> UnpackPk(std::string_view packed);

// "[1]", "[1, 'a']", or X'..' when the bytes do not unpack.
std::string PkToString(std::string_view packed);

// The same as a row is named in messages and history views: "(1)",
// "(1, 'a')", or X'..' when the bytes do not unpack.
std::string PkTuple(std::string_view packed);

// A pk value typed on the command line (--pk V, `crlog blame T V...`) as the
// column value it most likely names: an integer (42, -7), a real (1.5, 2e3),
// text in single quotes ('42' is text; '' inside stands for one quote),
// X'00ff' a blob, anything else text as typed.
Value PlainValue(std::string_view text);

// InvalidArgument naming the value when one of `values` is written as a
// blob literal (X'...') that is not one: an odd number of hex digits, or
// a character that is not a hex digit. Taking it as text would name a row
// the user did not mean.
absl::Status CheckPlainValues(absl::Span<const std::string> values);

// The packed pk of plain values.
std::string PackPlainPk(absl::Span<const std::string> values);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_PK_TEXT_H_
