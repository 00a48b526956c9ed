// The compact row encoding (log/row_codec.h): round trips of every value
// type, the documented byte layout, Truncate, and refusal of bad buffers.
#include "log/row_codec.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "crlog/value.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::StatusOf;

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

// Rows exercising every value type and the edges of each.
std::vector<RowOp> SampleRows(bool with_origins) {
  std::vector<RowOp> rows;
  auto origin = [&](uint32_t o) { return with_origins ? o : 0u; };
  RowOp ints;
  ints.pk = std::string("\x01\x09\x01", 3);
  ints.causal_length = 1;
  ints.cells = {
      {0, 1, Value::Integer(0), origin(0)},
      {1, 2, Value::Integer(-1), origin(1)},
      {2, 3, Value::Integer(1), origin(2)},
      {3, 127, Value::Integer(std::numeric_limits<int64_t>::min()), origin(127)},
      {4, 128, Value::Integer(std::numeric_limits<int64_t>::max()), origin(128)},
      {5, std::numeric_limits<uint64_t>::max(), Value::Integer(-300), origin(300)},
  };
  rows.push_back(ints);

  RowOp reals;
  reals.pk = "r";
  reals.causal_length = 3;
  reals.cells = {
      {0, 1, Value::Real(0.0), origin(0)},
      {1, 1, Value::Real(1.5), origin(0)},
      {2, 1, Value::Real(-2.25e-300), origin(0)},
      {3, 1, Value::Real(std::numeric_limits<double>::max()), origin(0)},
      {4, 1, Value::Real(std::numeric_limits<double>::denorm_min()), origin(0)},
      {5, 1, Value::Real(std::numeric_limits<double>::infinity()), origin(0)},
      {6, 1, Value::Real(-std::numeric_limits<double>::infinity()), origin(0)},
  };
  rows.push_back(reals);

  RowOp texts;
  texts.pk = std::string(300, 'p');  // pk length needs a two-byte varint
  texts.causal_length = std::numeric_limits<uint64_t>::max();
  texts.cells = {
      {0, 1, Value::Text(""), origin(0)},
      {1, 1, Value::Text("h\xc3\xa9llo"), origin(0)},
      {2, 1, Value::Text(std::string("nul\0inside", 10)), origin(0)},
      {3, 1, Value::Text(std::string(100000, 'x')), origin(0)},
  };
  rows.push_back(texts);

  RowOp blobs;
  blobs.pk = "";
  blobs.causal_length = 1;
  blobs.cells = {
      {0, 1, Value::Blob(""), origin(0)},
      {1, 1, Value::Blob(AllBytes()), origin(0)},
      {2, 1, Value::Null(), origin(0)},
  };
  rows.push_back(blobs);

  RowOp deleted;
  deleted.pk = "gone";
  deleted.causal_length = 2;  // a delete has no cells
  rows.push_back(deleted);
  return rows;
}

constexpr uint32_t kColumns = 7;

std::string EncodeRows(const std::vector<RowOp>& rows, bool with_origins) {
  RowsWriter w(with_origins);
  for (const RowOp& r : rows) w.AddRow(r);
  EXPECT_EQ(w.row_count(), rows.size());
  return w.Release();
}

TEST(RowCodecTest, RoundTripsEveryValueTypeWithoutOrigins) {
  std::vector<RowOp> rows = SampleRows(false);
  std::string bytes = EncodeRows(rows, false);
  auto decoded = DecodeRows(bytes, static_cast<uint32_t>(rows.size()), kColumns, false);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, rows);
}

TEST(RowCodecTest, RoundTripsEveryValueTypeWithOrigins) {
  std::vector<RowOp> rows = SampleRows(true);
  std::string bytes = EncodeRows(rows, true);
  auto decoded = DecodeRows(bytes, static_cast<uint32_t>(rows.size()), kColumns, true);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, rows);
}

TEST(RowCodecTest, RealsRoundTripBitForBit) {
  // -0.0 == 0.0 in C++, so check the bits.
  const double reals[] = {-0.0, 0.1, -1e-310, std::numeric_limits<double>::lowest()};
  RowsWriter w;
  w.BeginRow("k", 1, 4);
  for (uint32_t i = 0; i < 4; ++i) w.AddCell(i, 1, Value::Real(reals[i]));
  auto decoded = DecodeRows(w.bytes(), 1, 4);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ((*decoded)[0].cells.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const Value& v = (*decoded)[0].cells[i].value;
    ASSERT_EQ(v.type, ValueType::kReal);
    EXPECT_EQ(std::memcmp(&v.real, &reals[i], sizeof(double)), 0) << "real #" << i;
  }
}

TEST(RowCodecTest, ReaderReturnsRowsOneByOneUntilDone) {
  std::vector<RowOp> rows = SampleRows(false);
  std::string bytes = EncodeRows(rows, false);
  RowsReader reader(bytes);
  std::vector<RowOp> got;
  while (!reader.done()) {
    RowOp row;
    ASSERT_OK(reader.Next(kColumns, &row));
    got.push_back(row);
    ASSERT_LE(got.size(), rows.size());
  }
  EXPECT_EQ(got, rows);
}

TEST(RowCodecTest, FindStepsOverOtherRowsAndDecodesTheOneAsked) {
  for (bool with_origins : {false, true}) {
    std::vector<RowOp> rows = SampleRows(with_origins);
    std::string bytes = EncodeRows(rows, with_origins);
    for (const RowOp& wanted : rows) {
      RowsReader reader(bytes, with_origins);
      RowOp row;
      auto found = reader.Find(kColumns, wanted.pk, &row);
      ASSERT_TRUE(found.ok()) << found.status();
      EXPECT_TRUE(*found) << "origins " << with_origins;
      EXPECT_EQ(row, wanted);
    }
    RowsReader reader(bytes, with_origins);
    RowOp row;
    auto missing = reader.Find(kColumns, "no such pk", &row);
    ASSERT_TRUE(missing.ok()) << missing.status();
    EXPECT_FALSE(*missing);
    EXPECT_TRUE(reader.done());
    // A row cut short is an error, never a read past the buffer.
    RowsReader cut(std::string_view(bytes).substr(0, bytes.size() - 3), with_origins);
    EXPECT_FALSE(cut.Find(kColumns, "no such pk", &row).ok());
  }
}

TEST(RowCodecTest, BeginRowAndAddCellWriteTheSameBytesAsAddRow) {
  std::vector<RowOp> rows = SampleRows(true);
  RowsWriter a(true);
  RowsWriter b(true);
  for (const RowOp& r : rows) {
    a.AddRow(r);
    b.BeginRow(r.pk, r.causal_length, static_cast<uint32_t>(r.cells.size()));
    for (const CellOp& c : r.cells) b.AddCell(c.column, c.version, c.value, c.origin);
  }
  EXPECT_EQ(a.bytes(), b.bytes());
  EXPECT_EQ(a.row_count(), b.row_count());
}

TEST(RowCodecTest, EncodingMatchesDocumentedLayout) {
  RowsWriter w;
  w.BeginRow(std::string("\x01\x09", 2), 1, 5);
  w.AddCell(0, 1, Value::Integer(-2));     // zigzag(-2) = 3
  w.AddCell(1, 300, Value::Text("ab"));    // version 300 = ac 02
  w.AddCell(2, 1, Value::Real(1.0));       // 8 bytes little-endian
  w.AddCell(3, 1, Value::Null());
  w.AddCell(4, 1, Value::Blob(std::string("\x00", 1)));
  const std::string expected = std::string(
      "\x02\x01\x09"                          // pk length, pk
      "\x01"                                  // causal length
      "\x05"                                  // cell count
      "\x00\x01\x01\x03"                      // col 0, v1, integer, zigzag -2
      "\x01\xac\x02\x03\x02" "ab"             // col 1, v300, text len 2
      "\x02\x01\x02\x00\x00\x00\x00\x00\x00\xf0\x3f"  // col 2, v1, real 1.0
      "\x03\x01\x05"                          // col 3, v1, null
      "\x04\x01\x04\x01\x00",                 // col 4, v1, blob len 1
      35);
  EXPECT_EQ(testing::Lower(ToHex(w.bytes())), testing::Lower(ToHex(expected)));
}

TEST(RowCodecTest, EncodingWithOriginsPutsOriginAndSeqAfterCausalLengthAndVersion) {
  RowsWriter w(true);
  w.BeginRow("k", 1, 1, /*origin=*/3, /*seq=*/4);
  w.AddCell(2, 5, Value::Integer(1), 130, 7);  // origin 130 = 82 01
  // pk "k", cl 1, row origin 3, row seq 4, 1 cell: column 2, version 5,
  // origin 82 01, seq 7, integer 1 (tag 1, zigzag 2).
  const std::string expected("\x01k\x01\x03\x04\x01\x02\x05\x82\x01\x07\x01\x02", 13);
  EXPECT_EQ(ToHex(w.bytes()), ToHex(expected));
}

TEST(RowCodecTest, TruncateDropsRowsWrittenAfterThePoint) {
  std::vector<RowOp> rows = SampleRows(false);
  RowsWriter w;
  w.AddRow(rows[0]);
  w.AddRow(rows[1]);
  const size_t size = w.size();
  const uint32_t count = w.row_count();
  w.AddRow(rows[2]);
  w.AddRow(rows[3]);
  w.Truncate(size, count);
  EXPECT_EQ(w.size(), size);
  EXPECT_EQ(w.row_count(), 2u);
  w.AddRow(rows[4]);
  auto decoded = DecodeRows(w.bytes(), w.row_count(), kColumns);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, (std::vector<RowOp>{rows[0], rows[1], rows[4]}));
}

TEST(RowCodecTest, TruncateToZeroEmptiesTheWriter) {
  RowsWriter w;
  w.AddRow(SampleRows(false)[0]);
  w.Truncate(0, 0);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.row_count(), 0u);
  auto decoded = DecodeRows(w.bytes(), 0, kColumns);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());
}

TEST(RowCodecTest, ReleaseHandsOverTheBytesAndResetsTheCount) {
  RowsWriter w;
  w.AddRow(SampleRows(false)[0]);
  const std::string before = w.bytes();
  std::string released = w.Release();
  EXPECT_EQ(released, before);
  EXPECT_EQ(w.row_count(), 0u);
}

TEST(RowCodecTest, EmptyBufferHoldsZeroRows) {
  auto decoded = DecodeRows("", 0, 3);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());
  EXPECT_TRUE(RowsReader("").done());
}

TEST(RowCodecTest, EveryTruncatedBufferIsRefused) {
  for (bool with_origins : {false, true}) {
    std::vector<RowOp> rows = SampleRows(with_origins);
    // Keep it small enough to try every prefix.
    rows[2].cells[3].value = Value::Text("xyz");
    std::string bytes = EncodeRows(rows, with_origins);
    for (size_t n = 0; n < bytes.size(); ++n) {
      SCOPED_TRACE(::testing::Message() << "with_origins=" << with_origins << " prefix=" << n);
      auto decoded = DecodeRows(std::string_view(bytes).substr(0, n),
                                static_cast<uint32_t>(rows.size()), kColumns, with_origins);
      EXPECT_EQ(StatusOf(decoded).code(), absl::StatusCode::kInvalidArgument) << StatusOf(decoded);
    }
  }
}

TEST(RowCodecTest, ReaderRefusesARowCutShort) {
  RowsWriter w;
  w.BeginRow("key", 1, 1);
  w.AddCell(0, 1, Value::Text("value"));
  std::string bytes = w.bytes();
  bytes.pop_back();
  RowsReader reader(bytes);
  RowOp row;
  EXPECT_CODE(reader.Next(1, &row), absl::StatusCode::kInvalidArgument);
}

TEST(RowCodecTest, CellColumnPastColumnCountIsRefused) {
  RowsWriter w;
  w.BeginRow("k", 1, 1);
  w.AddCell(3, 1, Value::Integer(7));
  EXPECT_CODE(DecodeRows(w.bytes(), 1, 3), absl::StatusCode::kInvalidArgument);
  RowsReader reader(w.bytes());
  RowOp row;
  EXPECT_CODE(reader.Next(3, &row), absl::StatusCode::kInvalidArgument);
  // The last valid index is fine.
  auto ok = DecodeRows(w.bytes(), 1, 4);
  EXPECT_OK(ok);
}

TEST(RowCodecTest, RowCountMismatchIsRefused) {
  std::vector<RowOp> rows = SampleRows(false);
  std::string bytes = EncodeRows(rows, false);
  const uint32_t n = static_cast<uint32_t>(rows.size());
  EXPECT_CODE(DecodeRows(bytes, n - 1, kColumns), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeRows(bytes, n + 1, kColumns), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeRows(bytes, 0, kColumns), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeRows("", 1, kColumns), absl::StatusCode::kInvalidArgument);
  EXPECT_OK(DecodeRows(bytes, n, kColumns));
}

TEST(RowCodecTest, UnknownValueTagIsRefused) {
  RowsWriter w;
  w.BeginRow("k", 1, 1);
  w.AddCell(0, 1, Value::Null());
  ASSERT_EQ(static_cast<uint8_t>(w.bytes().back()), 5);  // the null tag ends the buffer
  for (uint8_t tag : {0, 6, 7}) {
    SCOPED_TRACE(::testing::Message() << "tag=" << int(tag));
    std::string bytes = w.bytes();
    bytes.back() = static_cast<char>(tag);
    EXPECT_CODE(DecodeRows(bytes, 1, 1), absl::StatusCode::kInvalidArgument);
  }
}

TEST(RowCodecTest, OverlongVarintIsRefused) {
  // pk length as eleven continuation bytes: no 64-bit varint is that long.
  std::string bytes(11, '\xff');
  bytes.push_back('\x01');
  EXPECT_CODE(DecodeRows(bytes, 1, 1), absl::StatusCode::kInvalidArgument);
}

TEST(RowCodecTest, LengthPastTheEndIsRefused) {
  // pk length 5 with two bytes left.
  EXPECT_CODE(DecodeRows(std::string("\x05" "ab", 3), 1, 1), absl::StatusCode::kInvalidArgument);
  // A huge text length must not be trusted (nor allocated).
  std::string bytes("\x01k\x01\x01\x00\x01\x03", 7);
  bytes += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9);
  bytes += "abc";
  EXPECT_CODE(DecodeRows(bytes, 1, 1), absl::StatusCode::kInvalidArgument);
}

TEST(RowCodecTest, HugeCellCountIsRefusedWithoutAllocating) {
  std::string bytes("\x01k\x01", 3);
  bytes += std::string("\xff\xff\xff\xff\x0f", 5);  // 2^32-1 cells, none present
  EXPECT_CODE(DecodeRows(bytes, 1, 1), absl::StatusCode::kInvalidArgument);
}

TEST(RowCodecTest, RandomGarbageGivesAnErrorNeverACrash) {
  const uint32_t seed = 20240601;
  SCOPED_TRACE(::testing::Message() << "seed=" << seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const bool with_origins = rng() % 2;
    auto decoded = DecodeRows(bytes, rng() % 4, 1 + rng() % 8, with_origins);
    if (!decoded.ok()) {
      ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
          << "iteration " << i << ": " << decoded.status();
    }
  }
}

TEST(RowCodecTest, FlippedBytesGiveAnErrorOrWellFormedRowsNeverACrash) {
  const uint32_t seed = 7;
  SCOPED_TRACE(::testing::Message() << "seed=" << seed);
  std::mt19937 rng(seed);
  std::vector<RowOp> rows = SampleRows(true);
  rows[2].cells[3].value = Value::Text("short");
  const std::string good = EncodeRows(rows, true);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    auto decoded = DecodeRows(bytes, static_cast<uint32_t>(rows.size()), kColumns, true);
    if (!decoded.ok()) {
      ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
          << "iteration " << i << ": " << decoded.status();
    } else {
      ASSERT_EQ(decoded->size(), rows.size()) << "iteration " << i;
      for (const RowOp& r : *decoded) {
        for (const CellOp& c : r.cells) ASSERT_LT(c.column, kColumns) << "iteration " << i;
      }
    }
  }
}

}  // namespace
}  // namespace crlog::log
