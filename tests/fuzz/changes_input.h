// The input format of the crsql_changes fuzz target (changes_fuzzer.cc): a
// sequence of operations on one replica, read front to back so that the seed
// generator (make_corpus.cc) can write inputs by hand with ChangesWriter.
// Past the end of the input every read gives 0 (an empty string).
//
//   input   := op*
//   op      := code:u8 (taken % 16), then by code:
//     0 BEGIN   1 COMMIT   2 ROLLBACK
//     3 SAVEPOINT s<u8 % 3>   4 ROLLBACK TO s<u8 % 3>   5 RELEASE s<u8 % 3>
//     6 a local write: table:u8 % 3 (t, u, k), kind:u8 % 3 (0 INSERT OR
//       REPLACE of every column, 1 UPDATE of column u8 by pk, 2 DELETE by
//       pk), then the values it binds
//     7 SELECT * FROM crsql_changes WHERE db_version > value
//     8 SELECT crsql_next_db_version(value)
//     9 SELECT crsql_config_set(name, value), name:u8 % 3 of
//       merge-equal-values, crlog-strict-columns, crlog-max-event-bytes
//     10..15 INSERT INTO crsql_changes VALUES (table, pk, cid, value,
//       counter, counter, site, counter, counter)
//   value   := tag:u8 % 8, then: 0 small integer (i8); 1 integer (i64 LE);
//              2 real (f64 LE); 3 text (bytes); 4 blob (bytes); 5 NULL;
//              6 an edge integer (u8 indexes kEdgeIntegers); 7 a whole real
//              (i8)
//   bytes   := length:u8, then that many bytes
//   counter := u8 < 0xC0: that byte % 16 as an integer; else a value
//   table   := u8 % 8: 0-2 t, 3-4 u, 5 k, 6 'nope' (not replicated),
//              7 bytes (as text)
//   pk      := u8 % 4: 0-1 the packing of (u8 % 4) values; 2 bytes (a raw
//              blob); 3 a value
//   cid     := u8: % 8 < 5: the table's column (u8 / 8) % column count;
//              5 '-1'; 6 bytes (as text); 7 a value
//   site    := u8 % 8: 0-2 one of three fixed sites; 3 this replica's;
//              4 bytes (a raw blob); 5 a value; 6-7 the first fixed site
#ifndef CRLOG_TESTS_FUZZ_CHANGES_INPUT_H_
#define CRLOG_TESTS_FUZZ_CHANGES_INPUT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crlog/value.h"

namespace crlog::fuzz {

// The replicated tables every input starts with.
struct FuzzTable {
  const char* name;
  const char* create_sql;
  std::vector<const char*> columns;  // in declaration order
  size_t pk_columns;                 // the first pk_columns of `columns`
};
const std::vector<FuzzTable>& FuzzTables();

// Integers at the edges crsql_changes checks (0, 2^62, INT64 limits, ...).
extern const std::vector<int64_t> kEdgeIntegers;

enum Code : uint8_t {
  kBegin = 0,
  kCommit = 1,
  kRollback = 2,
  kSavepoint = 3,
  kRollbackTo = 4,
  kRelease = 5,
  kLocalWrite = 6,
  kReadChanges = 7,
  kNextDbVersion = 8,
  kConfigSet = 9,
  kChange = 10,  // 10..15
};

class ChangesReader {
 public:
  explicit ChangesReader(std::string_view in) : in_(in) {}
  bool done() const { return in_.empty(); }
  uint8_t Byte();
  int64_t Int64();
  double Real();
  std::string Bytes();
  Value AnyValue();
  Value Counter();

 private:
  std::string_view in_;
};

// Writes what ChangesReader reads; each method writes one production.
class ChangesWriter {
 public:
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Bytes(std::string_view b);
  void AnyValue(const Value& v);
  void Counter(uint8_t small);  // REQUIRES: small < 16
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace crlog::fuzz

#endif  // CRLOG_TESTS_FUZZ_CHANGES_INPUT_H_
