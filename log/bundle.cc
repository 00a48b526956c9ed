// Event bundles (log/bundle.h).
#include "log/bundle.h"

#include "absl/strings/str_cat.h"
#include "util/varint.h"

namespace crlog::log {

void AppendToBundle(std::string* bundle, std::string_view event) {
  util::PutVarint(bundle, event.size());
  bundle->append(event);
}

std::string BundleEvents(absl::Span<const std::string> events) {
  std::string out;
  size_t total = 0;
  for (const std::string& e : events) total += e.size() + 10;
  out.reserve(total);
  for (const std::string& e : events) AppendToBundle(&out, e);
  return out;
}

absl::StatusOr<std::vector<std::string_view>> UnbundleEvents(std::string_view bundle) {
  std::vector<std::string_view> events;
  const size_t total = bundle.size();
  std::string_view in = bundle;
  while (!in.empty()) {
    size_t offset = total - in.size();
    uint64_t length = 0;
    if (!util::GetVarint(&in, &length) || length > in.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event bundle: the frame at byte ", offset, " is truncated or garbled (",
          total, " bytes in all); send the bundle again"));
    }
    events.push_back(in.substr(0, length));
    in.remove_prefix(length);
  }
  return events;
}

}  // namespace crlog::log
