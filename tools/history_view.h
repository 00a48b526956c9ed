// How the history commands (blame, diff, log --ops) show values, rows and
// the event behind a value, as text and as JSON.
#ifndef CRLOG_TOOLS_HISTORY_VIEW_H_
#define CRLOG_TOOLS_HISTORY_VIEW_H_

#include <string>
#include <string_view>
#include <vector>

#include "crlog/history.h"
#include "crlog/value.h"
#include "tools/json_value.h"

namespace crlog::tools {

// A value as JSON: integers and reals as numbers (a real always with a '.'
// or an exponent, so that it reads back as a real), text as a string, NULL
// as null, a blob as {"blob": "<hex>"}. Reals that JSON has no number for
// are spelled like a blob: {"real": "Infinity"}, "-Infinity" or "NaN".
Json ValueToJson(const Value& v);
// Its text, as --json writes it.
std::string ValueJson(const Value& v);

// A packed pk as a JSON array of its values; the hex of the bytes in a
// string when they do not unpack.
Json PkToJson(std::string_view packed);
// Its text, as --json writes it.
std::string PkJson(std::string_view packed);

// The time to show for a value: the writer's clock, or for an import (which
// carries none) the time this log stored it, marked "(arrived)"; "-" when
// neither is known.
std::string ProvenanceTime(const Provenance& p);

// {"event", "position", "kind", "site", "time_micros", "time", "arrival_micros",
// "arrival", "col_version"}; times this log does not know are null.
Json ProvenanceToJson(const Provenance& p);

// Lines padded into columns (two spaces apart), each line indented by
// `indent`. The last column is not padded.
std::string Columns(const std::vector<std::vector<std::string>>& rows, std::string_view indent);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_HISTORY_VIEW_H_
