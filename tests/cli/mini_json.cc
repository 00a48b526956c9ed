// Recursive-descent JSON parser for tests (mini_json.h).
#include "tests/cli/mini_json.h"

#include <cctype>

namespace crlog::cli_test {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  std::optional<Json> Document() {
    Json v;
    if (!Value(&v)) return std::nullopt;
    SkipSpace();
    if (pos_ != in_.size()) return std::nullopt;
    return v;
  }

 private:
  void SkipSpace() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\r' ||
                                 in_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Value(Json* v) {
    SkipSpace();
    if (pos_ >= in_.size()) return false;
    char c = in_[pos_];
    if (c == '{') return Object(v);
    if (c == '[') return Array(v);
    if (c == '"') {
      v->type = Json::Type::kString;
      return String(&v->text);
    }
    if (Literal("null")) {
      v->type = Json::Type::kNull;
      return true;
    }
    if (Literal("true") || Literal("false")) {
      v->type = Json::Type::kBool;
      v->boolean = in_[pos_ - 1] == 'e' && in_[pos_ - 2] == 'u';
      return true;
    }
    return Number(v);
  }

  bool Number(Json* v) {
    size_t start = pos_;
    if (pos_ < in_.size() && in_[pos_] == '-') ++pos_;
    size_t digits = pos_;
    while (pos_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[pos_]))) ++pos_;
    if (pos_ == digits) return false;
    if (in_[digits] == '0' && pos_ - digits > 1) return false;  // no leading zeros
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      size_t frac = pos_;
      while (pos_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[pos_]))) ++pos_;
      if (pos_ == frac) return false;
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      size_t exp = pos_;
      while (pos_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[pos_]))) ++pos_;
      if (pos_ == exp) return false;
    }
    v->type = Json::Type::kNumber;
    v->text = std::string(in_.substr(start, pos_ - start));
    return true;
  }

  bool String(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= in_.size()) return false;
      char e = in_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          if (pos_ + 4 > in_.size()) return false;
          unsigned code = 0;
          for (int i = 0; i < 4; ++i) {
            char h = in_[pos_++];
            if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
            code = code * 16 + (std::isdigit(static_cast<unsigned char>(h))
                                    ? h - '0'
                                    : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
          }
          if (code >= 0x80) return false;  // enough for these tests
          out->push_back(static_cast<char>(code));
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool Array(Json* v) {
    v->type = Json::Type::kArray;
    ++pos_;
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      Json item;
      if (!Value(&item)) return false;
      v->items.push_back(std::move(item));
      SkipSpace();
      if (pos_ >= in_.size()) return false;
      char c = in_[pos_++];
      if (c == ']') return true;
      if (c != ',') return false;
    }
  }

  bool Object(Json* v) {
    v->type = Json::Type::kObject;
    ++pos_;
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '"') return false;
      std::string key;
      if (!String(&key)) return false;
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_++] != ':') return false;
      Json item;
      if (!Value(&item)) return false;
      if (!v->fields.emplace(std::move(key), std::move(item)).second) return false;  // duplicate
      SkipSpace();
      if (pos_ >= in_.size()) return false;
      char c = in_[pos_++];
      if (c == '}') return true;
      if (c != ',') return false;
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<Json> ParseJson(std::string_view text) { return Parser(text).Document(); }

}  // namespace crlog::cli_test
