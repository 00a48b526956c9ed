// Fractional-index order keys as cr-sqlite 0.16 makes them
// (crsql_fract_key_between): strings that sort bytewise in list order, so a
// row can move between two others by changing one cell, and two replicas
// that insert at the same place still converge to one order. Pure: no I/O.
//
// A key is an integer part and a fraction, written in 95 digits, the
// printable ASCII characters ' ' (0) to '~' (94):
//   - the integer part's head letter gives its length: 'a'..'z' are 2..27
//     characters (head included), 'A'..'Z' are 27..2 ('A' longest), and the
//     uppercase heads sort, as numbers, below the lowercase ones. "a " is
//     zero, the key of the first row of an empty list;
//   - the fraction (possibly empty) never ends with ' ' (digit 0), so that
//     there is always room below it.
// "A" followed by 26 spaces is the smallest integer and not a valid key.
//
// The outputs are cr-sqlite's to the byte for every input it accepts, and
// every key it refuses as malformed is refused here, with a message of
// crlog's own (cr-sqlite reports some of those only as a trap, "unreachable").
// One refusal is not copied: cr-sqlite reads a key's length as a byte, so it
// refuses valid keys of 256 bytes and more whose length modulo 256 is below
// their integer part's ("integer part of key is too long"); crlog answers.
#ifndef CRLOG_MERGE_FRACT_KEY_H_
#define CRLOG_MERGE_FRACT_KEY_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace crlog::merge {

// The key of an empty list, "a ".
inline constexpr std::string_view kFractKeyZero = "a ";

// A key that sorts after `a` and before `b`; an absent bound is an open end
// (no bounds: kFractKeyZero). Keys are byte strings (a SQL value's text).
// InvalidArgument, naming the key at fault, when a key is not one this
// scheme makes (empty, bad head letter, shorter than its integer part, a
// fraction ending with ' ', a digit outside ' '..'~' where the algorithm
// reads it, the reserved smallest integer), when `a` does not sort before
// `b`, or when no key exists past the largest or below the smallest integer.
absl::StatusOr<std::string> FractKeyBetween(std::optional<std::string_view> a, std::optional<std::string_view> b);

}  // namespace crlog::merge

#endif  // CRLOG_MERGE_FRACT_KEY_H_
