// crlog/value.h: a SQLite value as the log stores it: the five storage classes, with the
// type numbers SQLite uses (SQLITE_INTEGER=1 ... SQLITE_NULL=5), which are
// also the type codes of cr-sqlite's packed pk format.
#ifndef CRLOG_VALUE_H_
#define CRLOG_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crlog {

enum class ValueType : uint8_t {
  kInteger = 1,
  kReal = 2,
  kText = 3,
  kBlob = 4,
  kNull = 5,
};

// A value owns its bytes. Text is UTF-8 as SQLite hands it over; blobs are
// raw. Equality is exact (type and content; reals bitwise-equal compare
// equal, so 0.0 == -0.0 follows C++).
struct Value {
  ValueType type = ValueType::kNull;
  int64_t integer = 0;
  double real = 0;
  std::string bytes;  // text or blob content

  static Value Null() { return Value{}; }
  static Value Integer(int64_t v) {
    Value x;
    x.type = ValueType::kInteger;
    x.integer = v;
    return x;
  }
  static Value Real(double v) {
    Value x;
    x.type = ValueType::kReal;
    x.real = v;
    return x;
  }
  static Value Text(std::string_view v) {
    Value x;
    x.type = ValueType::kText;
    x.bytes = std::string(v);
    return x;
  }
  static Value Blob(std::string_view v) {
    Value x;
    x.type = ValueType::kBlob;
    x.bytes = std::string(v);
    return x;
  }

  bool is_null() const { return type == ValueType::kNull; }

  friend bool operator==(const Value& a, const Value& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
      case ValueType::kInteger: return a.integer == b.integer;
      case ValueType::kReal: return a.real == b.real;
      case ValueType::kText:
      case ValueType::kBlob: return a.bytes == b.bytes;
      case ValueType::kNull: return true;
    }
    return false;
  }
};

// A readable rendering for logs, errors and the CLI: 42, 1.5, 'text'
// (quotes doubled), X'00ff', NULL.
std::string ValueToString(const Value& v);

// Several values (a row's primary key) as messages name a row: "(1, 'a')".
std::string ValuesToString(const std::vector<Value>& values);

}  // namespace crlog

#endif  // CRLOG_VALUE_H_
