// SQLite's column affinity (https://sqlite.org/datatype3.html, 3.1), and
// whether storing a value in such a column would change its type. A primary
// key must be packed as the table stores it: a value the column converts
// ('2' into an INTEGER column, 2 into a TEXT one) would give one row two
// identities, the packed pk that arrived and the one a local write packs.
#ifndef CRLOG_SCHEMA_AFFINITY_H_
#define CRLOG_SCHEMA_AFFINITY_H_

#include <string_view>

#include "crlog/value.h"

namespace crlog::schema {

enum class Affinity { kInteger, kText, kBlob, kReal, kNumeric };

// The affinity of a column declared with `declared_type` ("" for none).
Affinity AffinityOf(std::string_view declared_type);
const char* AffinityName(Affinity a);

// Whether SQLite would store `v` in a column of affinity `a` as a value of
// another type (text that reads as a number into a numeric column, a number
// into a TEXT column, an integer into a REAL one, a whole real into an
// INTEGER or NUMERIC one).
bool AffinityConverts(Affinity a, const Value& v);

}  // namespace crlog::schema

#endif  // CRLOG_SCHEMA_AFFINITY_H_
