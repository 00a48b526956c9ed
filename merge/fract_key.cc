// cr-sqlite 0.16's key_between (merge/fract_key.h), step for step where its
// steps decide the output: the integer part is incremented or decremented
// like a number in base 95, and fractions meet at their midpoint digit,
// rounded up.
//
// cr-sqlite cuts keys as UTF-8 text and traps when a cut falls inside a
// character (a key arriving as a BLOB or with a non-ASCII byte); every such
// cut is checked here (IsCut) so that the same inputs are refused.
#include "merge/fract_key.h"

#include <cstddef>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/strings.h"

namespace crlog::merge {
namespace {

constexpr int kBase = 95;                  // digits ' ' (0) .. '~' (94)
constexpr unsigned char kFirstDigit = ' ';
constexpr unsigned char kLastDigit = '~';
constexpr size_t kLongestInteger = 27;     // head 'A' or 'z' and 26 digits

int DigitValue(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= kFirstDigit && u <= kLastDigit ? u - kFirstDigit : -1;
}

char DigitChar(int d) { return static_cast<char>(kFirstDigit + d); }

// The length of the integer part a head letter announces, or -1.
int IntegerLength(char head) {
  if (head >= 'a' && head <= 'z') return head - 'a' + 2;
  if (head >= 'A' && head <= 'Z') return 'Z' - head + 2;
  return -1;
}

bool IsSmallestInteger(std::string_view s) {
  return s.size() == kLongestInteger && s[0] == 'A' && s.find_first_not_of(' ', 1) == std::string_view::npos;
}

// Whether text may be cut before byte `i`: the end, or not inside a UTF-8
// character (byte `i` is no continuation byte 10xxxxxx).
bool IsCut(std::string_view s, size_t i) {
  return i == s.size() || (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80);
}

// A key for a message: quoted, bytes outside printable ASCII as \xNN.
std::string Show(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= kFirstDigit && u <= kLastDigit) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02X", u);
    }
  }
  out.push_back('\'');
  return out;
}

absl::Status Refuse(std::string_view key, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("order key ", Show(key), " ", Sv(why)));
}

absl::Status NotUtf8(std::string_view key) {
  return Refuse(key, "is cut inside a UTF-8 character where its digits are read: keys are printable ASCII");
}

absl::Status BadDigit(std::string_view key, char c) {
  return Refuse(key, absl::StrCat("has the digit ", Show(std::string_view(&c, 1)),
                                  ", outside ' '..'~' (printable ASCII)"));
}

absl::StatusOr<std::string_view> IntegerPart(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("an order key cannot be empty");
  const int length = IntegerLength(key[0]);
  if (length < 0) return Refuse(key, "does not start with a letter (A-Z, a-z), as every key does");
  if (static_cast<size_t>(length) > key.size()) {
    return Refuse(key, absl::StrCat("is shorter than its integer part (", length, " characters after the head '",
                                    Sv(key.substr(0, 1)), "')"));
  }
  if (!IsCut(key, length)) return NotUtf8(key);
  return key.substr(0, length);
}

absl::Status ValidateKey(std::string_view key) {
  if (IsSmallestInteger(key)) {
    return Refuse(key, "is the smallest integer ('A' and 26 spaces), which is reserved: no key sorts below it");
  }
  auto integer = IntegerPart(key);
  if (!integer.ok()) return integer.status();
  if (key.size() > integer->size() && key.back() == ' ') {
    return Refuse(key, "ends its fraction with ' ' (digit 0), which no key does");
  }
  return absl::OkStatus();
}

// The midpoint of two fractions, a < b; no b: the top end. `key_a` and
// `key_b` are the whole keys, for messages.
absl::StatusOr<std::string> Midpoint(std::string_view a, std::optional<std::string_view> upper,
                                     std::string_view key_a, std::string_view key_b) {
  bool bounded = upper.has_value();
  std::string_view b = upper.value_or(std::string_view());
  std::string out;
  while (true) {
    if (bounded) {
      if (a >= b) {  // a == b: cr-sqlite reads past b's end and traps
        return absl::InvalidArgumentError(
            absl::StrCat("order keys ", Show(key_a), " and ", Show(key_b), " are equal: no key lies between them"));
      }
      // A common prefix (a padded with ' ') is kept as is.
      size_t n = 0;
      while (n < b.size() && (n < a.size() ? a[n] : ' ') == b[n]) ++n;
      if (n == b.size()) {  // b is a with spaces added: no key can lie between
        return absl::InvalidArgumentError(absl::StrCat("order keys ", Show(key_a), " and ", Show(key_b),
                                                       " differ only by trailing spaces: no key lies between them"));
      }
      if (n > 0) {
        if (!IsCut(b, n)) return NotUtf8(key_b);
        if (n <= a.size() && !IsCut(a, n)) return NotUtf8(key_a);
        out.append(b.substr(0, n));
        a = n < a.size() ? a.substr(n) : std::string_view();
        b = b.substr(n);
        continue;
      }
    }
    const int da = a.empty() ? 0 : DigitValue(a[0]);
    if (da < 0) return BadDigit(key_a, a[0]);
    const int db = bounded ? DigitValue(b[0]) : kBase;
    if (db < 0) return BadDigit(key_b, b[0]);
    if (db - da > 1) {
      out.push_back(DigitChar((da + db + 1) / 2));  // half-way, rounded up
      return out;
    }
    // Adjacent digits.
    if (bounded && b.size() > 1) {
      if (!IsCut(b, 1)) return NotUtf8(key_b);
      out.push_back(b[0]);
      return out;
    }
    out.push_back(DigitChar(da));
    if (!a.empty()) {
      if (!IsCut(a, 1)) return NotUtf8(key_a);
      a = a.substr(1);
    }
    bounded = false;
  }
}

// The next integer part; nullopt past the largest. `x` is an integer part
// (its length matches its head), `key` its key, for messages.
absl::StatusOr<std::optional<std::string>> IncrementInteger(std::string_view x, std::string_view key) {
  if (!IsCut(x, 1)) return NotUtf8(key);
  std::string digits(x.substr(1));
  bool carry = true;
  for (size_t i = digits.size(); carry && i-- > 0;) {
    if (!IsCut(digits, i) || !IsCut(digits, i + 1)) return NotUtf8(key);
    const int d = DigitValue(digits[i]);
    if (d < 0) return BadDigit(key, digits[i]);
    if (d + 1 == kBase) {
      digits[i] = DigitChar(0);
    } else {
      digits[i] = DigitChar(d + 1);
      carry = false;
    }
  }
  if (!carry) return absl::StrCat(Sv(x.substr(0, 1)), digits);
  if (x[0] == 'Z') return std::string(kFractKeyZero);
  if (x[0] == 'z') return std::nullopt;
  const char head = static_cast<char>(x[0] + 1);
  if (head > 'a') {
    digits.push_back(DigitChar(0));  // lowercase heads grow longer
  } else {
    digits.pop_back();  // uppercase heads grow shorter
  }
  return absl::StrCat(Sv(std::string_view(&head, 1)), digits);
}

// The previous integer part; nullopt below the smallest.
absl::StatusOr<std::optional<std::string>> DecrementInteger(std::string_view x, std::string_view key) {
  if (!IsCut(x, 1)) return NotUtf8(key);
  std::string digits(x.substr(1));
  bool borrow = true;
  for (size_t i = digits.size(); borrow && i-- > 0;) {
    if (!IsCut(digits, i) || !IsCut(digits, i + 1)) return NotUtf8(key);
    const int d = DigitValue(digits[i]);
    if (d < 0) return BadDigit(key, digits[i]);
    if (d == 0) {
      digits[i] = DigitChar(kBase - 1);
    } else {
      digits[i] = DigitChar(d - 1);
      borrow = false;
    }
  }
  if (!borrow) return absl::StrCat(Sv(x.substr(0, 1)), digits);
  if (x[0] == 'a') return std::string("Z~");
  if (x[0] == 'A') return std::nullopt;
  const char head = static_cast<char>(x[0] - 1);
  if (head < 'Z') {
    digits.push_back(DigitChar(kBase - 1));  // uppercase heads grow longer
  } else {
    digits.pop_back();  // lowercase heads grow shorter
  }
  return absl::StrCat(Sv(std::string_view(&head, 1)), digits);
}

absl::StatusOr<std::string> WithMidpoint(std::string_view integer, absl::StatusOr<std::string> fraction) {
  if (!fraction.ok()) return fraction.status();
  return absl::StrCat(Sv(integer), *fraction);
}

}  // namespace

absl::StatusOr<std::string> FractKeyBetween(std::optional<std::string_view> a, std::optional<std::string_view> b) {
  if (a) {
    if (absl::Status s = ValidateKey(*a); !s.ok()) return s;
  }
  if (b) {
    if (absl::Status s = ValidateKey(*b); !s.ok()) return s;
  }
  if (!a && !b) return std::string(kFractKeyZero);
  if (a && b) {
    if (*a > *b) {
      return absl::InvalidArgumentError(
          absl::StrCat("order key ", Show(*a), " sorts after ", Show(*b), ": the first key must be the lower one"));
    }
    const std::string_view ia = *IntegerPart(*a);  // checked by ValidateKey
    const std::string_view ib = *IntegerPart(*b);
    if (ia == ib) return WithMidpoint(ia, Midpoint(a->substr(ia.size()), b->substr(ib.size()), *a, *b));
    auto next = IncrementInteger(ia, *a);
    if (!next.ok()) return next.status();
    if (!*next) return Refuse(*a, "has the largest integer part: no key sorts after it");  // unreachable: ib > ia
    if (**next < *b) return **next;
    return WithMidpoint(ia, Midpoint(a->substr(ia.size()), std::nullopt, *a, *b));
  }
  if (b) {
    const std::string_view ib = *IntegerPart(*b);
    if (IsSmallestInteger(ib)) return WithMidpoint(ib, Midpoint("", b->substr(ib.size()), "", *b));
    if (ib.size() < b->size()) return std::string(ib);  // b has a fraction: its integer part sorts first
    auto previous = DecrementInteger(ib, *b);
    if (!previous.ok()) return previous.status();
    if (!*previous) return Refuse(*b, "is the smallest key there is: no key sorts before it");  // unreachable
    return **previous;
  }
  const std::string_view ia = *IntegerPart(*a);
  auto next = IncrementInteger(ia, *a);
  if (!next.ok()) return next.status();
  if (!*next) return WithMidpoint(ia, Midpoint(a->substr(ia.size()), std::nullopt, *a, ""));
  return **next;
}

}  // namespace crlog::merge
