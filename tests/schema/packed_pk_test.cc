// cr-sqlite's packed-columns format (schema/packed_pk.h): every example of
// crsql-compat.md byte for byte, through both writers; round trips at the
// edges of each type; a seeded randomised round trip; and refusal of
// truncated, garbage and non-minimal input.
#include "schema/packed_pk.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/seeds.h"
#include "crlog/value.h"

namespace crlog::schema {
namespace {

using ::testing::HasSubstr;

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ToHex(std::string_view bytes) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Value equality with reals compared bitwise, so NaN, -0.0 and 0.0 are told
// apart exactly as the format keeps them.
bool SameBits(const Value& a, const Value& b) {
  if (a.type == ValueType::kReal && b.type == ValueType::kReal) {
    return std::memcmp(&a.real, &b.real, sizeof a.real) == 0;
  }
  return a == b;
}

bool SameBits(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameBits(a[i], b[i])) return false;
  }
  return true;
}

std::string Describe(const std::vector<Value>& values) {
  std::string out = "(";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += ValueToString(values[i]);
  }
  return out + ")";
}

// An in-memory SQLite connection with test_pack(...) = PackSqliteValues, so
// the hot-path writer is fed real sqlite3_value pointers.
class SqlitePacker {
 public:
  SqlitePacker() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_create_function(db_, "test_pack", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                      nullptr, &TestPack, nullptr, nullptr),
              SQLITE_OK);
  }
  ~SqlitePacker() {
    for (auto& [arity, stmt] : stmts_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  SqlitePacker(const SqlitePacker&) = delete;
  SqlitePacker& operator=(const SqlitePacker&) = delete;

  // Evaluates `sql`, which must return one blob.
  std::string Eval(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    std::string out = StepBlob(stmt);
    sqlite3_finalize(stmt);
    return out;
  }

  // Binds `values` to test_pack(?1, ..., ?n).
  std::string Pack(const std::vector<Value>& values) {
    sqlite3_stmt*& stmt = stmts_[values.size()];
    if (stmt == nullptr) {
      std::string sql = "SELECT test_pack(";
      for (size_t i = 0; i < values.size(); ++i) sql += (i ? ", ?" : "?");
      sql += ")";
      EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    }
    sqlite3_reset(stmt);
    for (size_t i = 0; i < values.size(); ++i) {
      const Value& v = values[i];
      const int p = static_cast<int>(i + 1);
      switch (v.type) {
        case ValueType::kInteger: sqlite3_bind_int64(stmt, p, v.integer); break;
        case ValueType::kReal: sqlite3_bind_double(stmt, p, v.real); break;
        case ValueType::kText:
          sqlite3_bind_text(stmt, p, v.bytes.data(), static_cast<int>(v.bytes.size()),
                            SQLITE_TRANSIENT);
          break;
        case ValueType::kBlob:
          sqlite3_bind_blob(stmt, p, v.bytes.data(), static_cast<int>(v.bytes.size()),
                            SQLITE_TRANSIENT);
          break;
        case ValueType::kNull: sqlite3_bind_null(stmt, p); break;
      }
    }
    return StepBlob(stmt);
  }

 private:
  static void TestPack(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    std::string packed = PackSqliteValues(argc, argv);
    sqlite3_result_blob(ctx, packed.data(), static_cast<int>(packed.size()), SQLITE_TRANSIENT);
  }

  std::string StepBlob(sqlite3_stmt* stmt) {
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW) << sqlite3_errmsg(db_);
    const void* blob = sqlite3_column_blob(stmt, 0);
    std::string out(static_cast<const char*>(blob), sqlite3_column_bytes(stmt, 0));
    return out;
  }

  sqlite3* db_ = nullptr;
  std::map<size_t, sqlite3_stmt*> stmts_;
};

// --- The examples of crsql-compat.md, observed on cr-sqlite 0.16.3 ---------

struct Example {
  std::string sql_args;  // arguments of crsql_pack_columns as SQL
  std::vector<Value> values;
  std::string hex;
};

std::vector<Example> CompatExamples() {
  return {
      {"1", {Value::Integer(1)}, "010901"},
      {"128", {Value::Integer(128)}, "010980"},
      {"256", {Value::Integer(256)}, "01110100"},
      {"-1", {Value::Integer(-1)}, "0141FFFFFFFFFFFFFFFF"},
      {"1.5", {Value::Real(1.5)}, "01023FF8000000000000"},
      {"'', NULL, 0", {Value::Text(""), Value::Null(), Value::Integer(0)}, "03030501"},
      {"'ab', X'ff'", {Value::Text("ab"), Value::Blob("\xff")}, "020B0261620C01FF"},
      {"'x', -5", {Value::Text("x"), Value::Integer(-5)}, "020B017841FFFFFFFFFFFFFFFB"},
  };
}

TEST(PackedPkTest, PackColumnsMatchesEveryCrsqliteExampleByteForByte) {
  for (const Example& e : CompatExamples()) {
    EXPECT_EQ(ToHex(PackColumns(e.values)), e.hex) << e.sql_args;
  }
}

TEST(PackedPkTest, PackSqliteValuesMatchesEveryCrsqliteExampleByteForByte) {
  SqlitePacker sql;
  for (const Example& e : CompatExamples()) {
    EXPECT_EQ(ToHex(sql.Eval("SELECT test_pack(" + e.sql_args + ")")), e.hex) << e.sql_args;
  }
}

TEST(PackedPkTest, UnpackColumnsReadsEveryCrsqliteExample) {
  for (const Example& e : CompatExamples()) {
    auto values = UnpackColumns(FromHex(e.hex));
    ASSERT_TRUE(values.ok()) << e.hex << ": " << values.status();
    EXPECT_TRUE(SameBits(*values, e.values)) << e.hex << " -> " << Describe(*values);
  }
}

TEST(PackedPkTest, ThreeHundredByteTextHasTwoLengthBytes) {
  const std::string text(300, 'q');
  const std::string expected = FromHex("0113012C") + text;
  EXPECT_EQ(PackColumns({Value::Text(text)}), expected);
  SqlitePacker sql;
  EXPECT_EQ(sql.Eval("SELECT test_pack(printf('%.300c', 'q'))"), expected);
  EXPECT_EQ(sql.Pack({Value::Text(text)}), expected);
  auto values = UnpackColumns(expected);
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 1u);
  EXPECT_EQ((*values)[0], Value::Text(text));
}

TEST(PackedPkTest, AppendPackedValueWritesOneColumnWithoutCount) {
  std::string out;
  AppendPackedValue(&out, Value::Integer(256));
  AppendPackedValue(&out, Value::Null());
  EXPECT_EQ(ToHex(out), "11010005");
}

TEST(PackedPkTest, ZeroColumnsPackToCountByteAlone) {
  EXPECT_EQ(PackColumns({}), std::string(1, '\0'));
  EXPECT_EQ(PackSqliteValues(0, nullptr), std::string(1, '\0'));
  auto values = UnpackColumns(std::string(1, '\0'));
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_TRUE(values->empty());
}

// --- Round trips at the edges ---------------------------------------------

std::vector<Value> EdgeValues() {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  return {
      Value::Integer(0),
      Value::Integer(1),
      Value::Integer(127),
      Value::Integer(128),
      Value::Integer(255),
      Value::Integer(256),
      Value::Integer(65535),
      Value::Integer(65536),
      Value::Integer((int64_t{1} << 56) - 1),
      Value::Integer(int64_t{1} << 56),
      Value::Integer(kMax),
      Value::Integer(-1),
      Value::Integer(-256),
      Value::Integer(kMin),
      Value::Integer(kMin + 1),
      Value::Real(0.0),
      Value::Real(-0.0),
      Value::Real(1.5),
      Value::Real(-1e308),
      Value::Real(std::numeric_limits<double>::denorm_min()),
      Value::Real(std::numeric_limits<double>::infinity()),
      Value::Real(-std::numeric_limits<double>::infinity()),
      Value::Text(""),
      Value::Text("x"),
      Value::Text(std::string("a\0b", 3)),
      Value::Text("\xC3\xA9t\xC3\xA9"),
      Value::Text(std::string(255, 't')),
      Value::Text(std::string(256, 't')),
      Value::Blob(""),
      Value::Blob(all_bytes),
      Value::Blob(std::string(65536, '\xAB')),
      Value::Null(),
  };
}

TEST(PackedPkTest, EachEdgeValueRoundTripsAlone) {
  SqlitePacker sql;
  for (const Value& v : EdgeValues()) {
    const std::string packed = PackColumns({v});
    auto back = UnpackColumns(packed);
    ASSERT_TRUE(back.ok()) << ValueToString(v) << ": " << back.status();
    ASSERT_EQ(back->size(), 1u);
    EXPECT_TRUE(SameBits((*back)[0], v)) << ValueToString(v) << " came back as "
                                         << ValueToString((*back)[0]);
    EXPECT_EQ(ToHex(sql.Pack({v})), ToHex(packed)) << ValueToString(v);
  }
}

TEST(PackedPkTest, IntegerExtremesUseEightBytes) {
  EXPECT_EQ(ToHex(PackColumns({Value::Integer(std::numeric_limits<int64_t>::max())})),
            "01417FFFFFFFFFFFFFFF");
  EXPECT_EQ(ToHex(PackColumns({Value::Integer(std::numeric_limits<int64_t>::min())})),
            "01418000000000000000");
  EXPECT_EQ(ToHex(PackColumns({Value::Integer(int64_t{1} << 56)})), "01410100000000000000");
  EXPECT_EQ(ToHex(PackColumns({Value::Integer((int64_t{1} << 56) - 1)})), "0139FFFFFFFFFFFFFF");
}

TEST(PackedPkTest, EmptyBlobAndEmptyTextStayDistinct) {
  EXPECT_EQ(ToHex(PackColumns({Value::Blob(""), Value::Text("")})), "020403");
  auto back = UnpackColumns(FromHex("020403"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameBits(*back, {Value::Blob(""), Value::Text("")}));
}

TEST(PackedPkTest, NanAndNegativeZeroKeepTheirBits) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double d : {nan, -0.0}) {
    auto back = UnpackColumns(PackColumns({Value::Real(d)}));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(SameBits((*back)[0], Value::Real(d)));
  }
}

TEST(PackedPkTest, AllEdgeValuesRoundTripTogether) {
  const std::vector<Value> values = EdgeValues();
  auto back = UnpackColumns(PackColumns(values));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameBits(*back, values));
}

TEST(PackedPkTest, TwoHundredFiftyFiveColumnsRoundTrip) {
  std::vector<Value> values;
  for (int i = 0; i < 255; ++i) values.push_back(Value::Integer(i * 1000 - 7));
  const std::string packed = PackColumns(values);
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 255);
  auto back = UnpackColumns(packed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, values);
}

// --- Seeded randomised round trip ------------------------------------------

// A fresh seed each run, unless CRLOG_TEST_SEED names one.
// A random value of any type; text and blobs are up to `max_len` bytes, most
// of them short.
Value RandomValue(std::mt19937_64& rng, bool allow_nan, size_t max_len) {
  auto pick = [&](uint64_t n) { return rng() % n; };
  switch (pick(5)) {
    case 0: {
      // Integers of every byte width, both signs, and the extremes.
      const int bits = static_cast<int>(pick(65));
      uint64_t u = bits == 64 ? rng() : rng() & ((uint64_t{1} << bits) - 1);
      int64_t v = static_cast<int64_t>(u);
      if (pick(3) == 0) v = -v;
      return Value::Integer(v);
    }
    case 1: {
      double d;
      if (pick(2) == 0) {
        uint64_t bits = rng();
        std::memcpy(&d, &bits, sizeof d);
        if (std::isnan(d) && !allow_nan) d = 0.25;
      } else {
        d = static_cast<double>(static_cast<int64_t>(rng())) / 1024.0;
      }
      return Value::Real(d);
    }
    case 2:
    case 3: {
      const size_t len =
          pick(32) == 0 ? pick(max_len + 1) : pick(std::min<size_t>(40, max_len + 1));
      std::string s(len, '\0');
      for (char& c : s) c = static_cast<char>(pick(2) ? 'a' + pick(26) : pick(256));
      return pick(2) ? Value::Blob(s) : Value::Text(s);
    }
    default: return Value::Null();
  }
}

TEST(PackedPkTest, RandomKeysRoundTripAndBothWritersAgree) {
  const test_support::Seeds seeds({"CRLOG_TEST_SEED"}, std::random_device{}(), 1);
  const uint64_t seed = *seeds.begin();
  test_support::SeedTrace trace(seeds, seed);
  std::mt19937_64 rng(seed);
  SqlitePacker sql;
  for (int round = 0; round < 3000; ++round) {
    std::vector<Value> values(rng() % 9);
    // No NaN here: SQLite binds a NaN as NULL. Text need not be valid UTF-8:
    // SQLite keeps text bytes as given.
    for (Value& v : values) v = RandomValue(rng, /*allow_nan=*/false, /*max_len=*/70000);
    const std::string packed = PackColumns(values);
    auto back = UnpackColumns(packed);
    ASSERT_TRUE(back.ok()) << "round " << round << " " << Describe(values) << ": "
                           << back.status();
    ASSERT_TRUE(SameBits(*back, values))
        << "round " << round << ": " << Describe(values) << " came back as " << Describe(*back);
    const std::string from_sqlite = sql.Pack(values);
    ASSERT_TRUE(from_sqlite == packed) << "round " << round << ": " << Describe(values)
                                       << "\n  PackSqliteValues " << ToHex(from_sqlite)
                                       << "\n  PackColumns      " << ToHex(packed);
  }
}

// --- Refusal of malformed input --------------------------------------------

void ExpectRefused(const std::string& hex, std::string_view why_substring) {
  auto r = UnpackColumns(FromHex(hex));
  ASSERT_FALSE(r.ok()) << hex << " was accepted as " << Describe(*r);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << hex;
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(std::string(why_substring))) << hex;
}

TEST(PackedPkTest, UnpackRefusesEmptyInput) { ExpectRefused("", "empty"); }

TEST(PackedPkTest, UnpackRefusesCountPromisingMoreColumnsThanPresent) {
  ExpectRefused("020901", "promises 2 columns but only 1");
  ExpectRefused("01", "promises 1 columns but only 0");
  ExpectRefused("FF", "promises 255 columns");
}

TEST(PackedPkTest, UnpackRefusesBytesAfterLastColumn) {
  ExpectRefused("01090100", "left over");
  ExpectRefused("0005", "left over");
}

TEST(PackedPkTest, UnpackRefusesUnknownTypes) {
  ExpectRefused("0100", "unknown type");
  ExpectRefused("0106", "unknown type");
  ExpectRefused("0107", "unknown type");
  ExpectRefused("020901FE", "column 2 of 2");
}

TEST(PackedPkTest, UnpackRefusesIntegerWiderThanEightBytes) {
  ExpectRefused("0149" + std::string(18, 'F'), "at most 8 bytes");
  ExpectRefused("01F9", "at most 8 bytes");
}

TEST(PackedPkTest, UnpackRefusesTruncatedPayloads) {
  ExpectRefused("011101", "integer runs past the end");
  ExpectRefused("0141FFFFFFFFFFFFFF", "integer runs past the end");
  ExpectRefused("01023FF8", "real runs past the end");
  ExpectRefused("010B0561", "runs past the end");
  ExpectRefused("0113", "length runs past the end");
  ExpectRefused("010C02FF", "runs past the end");
}

TEST(PackedPkTest, UnpackRefusesHugeLengthWithoutOverflow) {
  ExpectRefused("0143FFFFFFFFFFFFFFFF61", "runs past the end");
  ExpectRefused("01447FFFFFFFFFFFFFFF", "runs past the end");
  ExpectRefused("014B" + std::string(18, 'F'), "at most 8 bytes");
}

TEST(PackedPkTest, UnpackRefusesNonZeroNForRealAndNull) {
  ExpectRefused("010A3FF8000000000000", "a real has n = 0");
  ExpectRefused("010D", "a null has n = 0");
}

TEST(PackedPkTest, UnpackRefusesNonMinimalIntegersAndLengths) {
  ExpectRefused("010900", "leading zero");              // 0 written in one byte
  ExpectRefused("01110001", "leading zero");            // 1 written in two bytes
  ExpectRefused("01410000000000000001", "leading zero");  // 1 written in eight
  ExpectRefused("010B00", "leading zero");              // empty text with a length byte
  ExpectRefused("011300026162", "leading zero");        // length 2 in two bytes
}

TEST(PackedPkTest, UnpackErrorNamesColumnAndOffset) {
  auto r = UnpackColumns(FromHex("03090105" "07"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("byte 4 (column 3 of 3)"));
}

TEST(PackedPkTest, EveryTruncationOfAValidKeyIsRefused) {
  std::vector<Value> values = EdgeValues();
  values.resize(30);  // keep the 64 KiB blob out: quadratic otherwise
  const std::string packed = PackColumns(values);
  for (size_t len = 0; len < packed.size(); ++len) {
    auto r = UnpackColumns(std::string_view(packed).substr(0, len));
    ASSERT_FALSE(r.ok()) << "prefix of " << len << " bytes accepted";
  }
}

// Garbage and single-byte mutations never crash, and anything accepted is in
// canonical form: it packs back to exactly the same bytes.
TEST(PackedPkTest, GarbageIsRefusedOrCanonical) {
  const test_support::Seeds seeds({"CRLOG_TEST_SEED"}, std::random_device{}(), 1);
  const uint64_t seed = *seeds.begin();
  test_support::SeedTrace trace(seeds, seed);
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes.resize(rng() % 24);
      for (char& c : bytes) c = static_cast<char>(rng());
      if (!bytes.empty()) bytes[0] = static_cast<char>(rng() % 4);
    } else {
      std::vector<Value> values(1 + rng() % 4);
      for (Value& v : values) v = RandomValue(rng, /*allow_nan=*/true, /*max_len=*/300);
      bytes = PackColumns(values);
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    auto r = UnpackColumns(bytes);
    if (r.ok()) {
      const std::string repacked = PackColumns(*r);
      ASSERT_TRUE(repacked == bytes) << "round " << round << ": accepted " << ToHex(bytes)
                                     << " but it packs back as " << ToHex(repacked);
    }
  }
}

}  // namespace
}  // namespace crlog::schema
