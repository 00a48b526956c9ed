// Debian's abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0: its
// absl::string_view is a class of its own, and absl::StrCat does not accept
// std::string_view. crlog's interfaces use std::string_view; this is the one
// bridge into abseil's formatting.
#ifndef CRLOG_UTIL_STRINGS_H_
#define CRLOG_UTIL_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace crlog {

inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace crlog

#endif  // CRLOG_UTIL_STRINGS_H_
