// JSON building for the crlog commands (tools/json_value.h).
#include "tools/json_value.h"

#include "tools/safe_text.h"

namespace crlog::tools {

Json JsonText(std::string_view s) { return Json(ValidUtf8(s)); }

std::string DumpJson(const Json& json) {
  // Strings come through JsonText, so `replace` is only a guard: whatever
  // slipped past it, a dump must not throw in the middle of an output.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string JsonString(std::string_view s) { return DumpJson(JsonText(s)); }

JsonLinesArray::JsonLinesArray(std::ostream& out) : out_(out) { out_ << "["; }

void JsonLinesArray::Add(const Json& element) {
  out_ << (count_ == 0 ? "\n" : ",\n") << DumpJson(element);
  ++count_;
}

void JsonLinesArray::Close() { out_ << (count_ == 0 ? "]" : "\n]"); }

std::string JsonObjectOpen(const Json& head, std::string_view key) {
  std::string text = DumpJson(head);
  text.pop_back();  // the closing brace
  if (!head.empty()) text += ",";
  return text + JsonString(key) + ":";
}

}  // namespace crlog::tools
