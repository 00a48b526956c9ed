// Times as text (crlog/time.h), through abseil's time library.
#include "crlog/time.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "util/strings.h"

namespace crlog {

std::optional<int64_t> ParseTime(std::string_view raw) {
  absl::string_view text = absl::StripAsciiWhitespace(Sv(raw));
  if (!text.empty() && text.front() == '@') {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(text.substr(1), &seconds)) return std::nullopt;
    return seconds * 1000000;
  }
  absl::Time t;
  std::string err;
  for (const char* format : {absl::RFC3339_full, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &t, &err)) return absl::ToUnixMicros(t);
  }
  return std::nullopt;
}

std::string FormatTime(int64_t micros, TimeDigits digits) {
  int64_t fraction = micros % 1000000;
  if (fraction < 0) fraction += 1000000;
  const char* format = digits == TimeDigits::kMicros ? "%Y-%m-%dT%H:%M:%E6SZ"
                       : fraction == 0               ? "%Y-%m-%dT%H:%M:%SZ"
                       : fraction % 1000 == 0        ? "%Y-%m-%dT%H:%M:%E3SZ"
                                                     : "%Y-%m-%dT%H:%M:%E6SZ";
  return absl::FormatTime(format, absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

}  // namespace crlog
