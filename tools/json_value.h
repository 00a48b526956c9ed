// How the crlog commands write JSON: every document is built as an
// nlohmann::ordered_json (keys stay in the order they are set) and dumped
// here, so that no command spells JSON structure or escaping by hand.
#ifndef CRLOG_TOOLS_JSON_VALUE_H_
#define CRLOG_TOOLS_JSON_VALUE_H_

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace crlog::tools {

using Json = nlohmann::ordered_json;

// A JSON string holding `s`. A JSON string holds only Unicode: a byte that
// is not part of valid UTF-8 appears as the four characters \xNN
// (tools/safe_text.h). Every string from a log, a database or the command
// line goes into a document through this.
Json JsonText(std::string_view s);

// `json` on one line, without spaces. Never throws: a string that did not
// come through JsonText and is not UTF-8 has its bad bytes replaced (U+FFFD).
std::string DumpJson(const Json& json);

// The JSON string literal (quotes included) for `s`: DumpJson(JsonText(s)).
std::string JsonString(std::string_view s);

// A JSON array streamed one element per line, for outputs too long to build
// at once or that a script reads line by line:
//   [            (no elements: "[]")
//   {...},
//   {...}
//   ]
// The constructor writes "[", Close() the "]" (no newline after it). An
// array never closed stays unterminated on purpose: a reader cannot mistake
// a listing cut short by an error for the whole one.
class JsonLinesArray {
 public:
  explicit JsonLinesArray(std::ostream& out);
  JsonLinesArray(const JsonLinesArray&) = delete;
  JsonLinesArray& operator=(const JsonLinesArray&) = delete;

  void Add(const Json& element);
  void Close();

 private:
  std::ostream& out_;
  size_t count_ = 0;
};

// The start of an object whose last member is a JsonLinesArray: `head` (an
// object) dumped without its closing brace, then `"key":`. The caller
// writes the array and then "}".
std::string JsonObjectOpen(const Json& head, std::string_view key);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_JSON_VALUE_H_
