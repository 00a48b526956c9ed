// An event bundle: events back to back, each as a varint byte length followed
// by its canonical bytes (docs/format.md, "Event bundle"). It is how a set of
// events travels as one value: `crlog_export()` returns one and
// `crlog_apply()` takes one. The bytes inside are untrusted until the store
// has decoded and hashed them.
#ifndef CRLOG_LOG_BUNDLE_H_
#define CRLOG_LOG_BUNDLE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace crlog::log {

std::string BundleEvents(absl::Span<const std::string> events);
// Appends one event to a bundle being built.
void AppendToBundle(std::string* bundle, std::string_view event);
// Splits a bundle into its events (views into `bundle`). A truncated or
// garbled frame is InvalidArgument naming its byte offset.
absl::StatusOr<std::vector<std::string_view>> UnbundleEvents(std::string_view bundle);

}  // namespace crlog::log

#endif  // CRLOG_LOG_BUNDLE_H_
