// crlog/time.h: times as crlog reads and writes them, in UTC.
//
// Event times, arrival times and points in history are microseconds since
// the Unix epoch. These are the one parser and the one formatter the SQL
// functions, the C++ API and the `crlog` program share, so a time printed by
// one is read back by the others. Thread-safe.
#ifndef CRLOG_TIME_H_
#define CRLOG_TIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crlog {

// Reads `text` (surrounding whitespace ignored) as one of:
//   @1763794800                 Unix seconds
//   2026-11-22                  UTC midnight
//   2026-11-22T07:00:00Z        RFC 3339, any offset, any fraction
//   2026-11-22T07:00:00         UTC
//   2026-11-22 07:00:00         UTC
// and returns microseconds since the epoch; nullopt for anything else.
std::optional<int64_t> ParseTime(std::string_view text);

enum class TimeDigits {
  kShortest,  // no fraction for whole seconds, else 3 digits or 6
  kMicros,    // always 6 fraction digits (a column of times lines up)
};

// RFC 3339 in UTC: 2026-11-22T07:00:00Z, 2026-11-22T07:00:00.250Z,
// 2026-11-22T07:00:00.000001Z. Times before the epoch count backwards.
std::string FormatTime(int64_t micros, TimeDigits digits = TimeDigits::kShortest);

}  // namespace crlog

#endif  // CRLOG_TIME_H_
