// A small, strict JSON parser for checking the structure of `crlog log
// --json` output in tests. Numbers keep their text so 64-bit integers
// compare exactly.
#ifndef CRLOG_TESTS_CLI_MINI_JSON_H_
#define CRLOG_TESTS_CLI_MINI_JSON_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crlog::cli_test {

struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;  // a string's content, or a number as written
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  bool is(Type t) const { return type == t; }
  // The field `key` of an object; nullptr when absent.
  const Json* get(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? nullptr : &it->second;
  }
};

// Parses one JSON document (surrounding whitespace allowed); nullopt when the
// text is not valid JSON.
std::optional<Json> ParseJson(std::string_view text);

}  // namespace crlog::cli_test

#endif  // CRLOG_TESTS_CLI_MINI_JSON_H_
