// The event and its canonical Cap'n Proto encoding (log/event.h): round
// trips of every kind, ids that depend on content only, and refusal of
// truncated, garbage, non-canonical, oversized and ill-shaped bytes.
#include "log/event.h"

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "event.capnp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/format.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::ChangeEvent;
using ::crlog::log::testing::FakeHash;
using ::crlog::log::testing::ImportEvent;
using ::crlog::log::testing::OneRowTable;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::StatusOf;
using ::testing::HasSubstr;

// --- Cap'n Proto helpers -------------------------------------------------------

kj::Array<capnp::word> ToWords(const std::string& bytes) {
  auto words = kj::heapArray<capnp::word>(bytes.size() / 8);
  std::memcpy(words.begin(), bytes.data(), words.size() * 8);
  return words;
}

std::string FromWords(kj::ArrayPtr<const capnp::word> words) {
  auto b = words.asBytes();
  return std::string(reinterpret_cast<const char*>(b.begin()), b.size());
}

// Whether `bytes`, read as one segment with no segment table, is a
// canonical Cap'n Proto message (capnp's own judgement).
bool CapnpSaysCanonical(const std::string& bytes) {
  if (bytes.empty() || bytes.size() % 8 != 0) return false;
  auto words = ToWords(bytes);
  kj::ArrayPtr<const capnp::word> segs[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segs, 1));
  return reader.isCanonical();
}

capnp::Data::Reader DataOf(std::string_view s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string Canonicalize(wire::Event::Reader root) {
  return FromWords(capnp::AnyStruct::Reader(root).canonicalize());
}

// The single segment of a builder, as the builder laid it out.
std::string BuilderSegment(capnp::MallocMessageBuilder& mb) {
  auto segs = mb.getSegmentsForOutput();
  EXPECT_EQ(segs.size(), 1u);
  return FromWords(segs[0]);
}

std::string OneRow(uint32_t column = 0, bool with_origins = false, uint32_t origin = 0) {
  RowsWriter w(with_origins);
  w.BeginRow("pk", 1, 1);
  w.AddCell(column, 1, Value::Text("v"), origin);
  return w.Release();
}

// An event built by hand with capnp, with knobs to break each rule.
struct HandEvent {
  enum Kind { kChange, kImport, kSchemaChange } kind = kChange;
  std::string site = std::string(AsBytes(Site(1)));
  uint64_t seq = 1;
  uint64_t lamport = 1;
  int64_t time = 12345;
  std::vector<std::string> parents;
  bool set_group = false;
  uint32_t group_index = 0;
  uint32_t group_count = 0;
  std::vector<std::string> origins;
  std::string table = "todo_items";
  std::vector<std::string> columns = {"a", "b"};
  uint32_t row_count = 1;
  std::string rows = OneRow();
  bool parents_before_site = false;  // breaks preorder layout
  std::string signature;             // set last, so it is last in preorder too

  void Build(wire::Event::Builder ev) const {
    auto set_parents = [&] {
      if (parents.empty()) return;
      auto list = ev.initParents(static_cast<unsigned>(parents.size()));
      for (unsigned i = 0; i < parents.size(); ++i) list.set(i, DataOf(parents[i]));
    };
    if (parents_before_site) set_parents();
    if (!site.empty()) ev.setSite(DataOf(site));
    if (!parents_before_site) set_parents();
    ev.setSeq(seq);
    ev.setLamport(lamport);
    ev.setTimeMicros(time);
    if (set_group) {
      auto g = ev.initGroup();
      g.setIndex(group_index);
      g.setCount(group_count);
    }
    auto fill_table = [&](wire::TableOps::Builder t) {
      t.setTable(table);
      auto cols = t.initColumns(static_cast<unsigned>(columns.size()));
      for (unsigned i = 0; i < columns.size(); ++i) cols.set(i, columns[i]);
      t.setRowCount(row_count);
      t.setRows(DataOf(rows));
    };
    switch (kind) {
      case kChange: {
        auto ch = ev.getBody().initChange();
        fill_table(ch.initTables(1)[0]);
        break;
      }
      case kImport: {
        auto im = ev.getBody().initImport();
        auto o = im.initOrigins(static_cast<unsigned>(origins.size()));
        for (unsigned i = 0; i < origins.size(); ++i) o.set(i, DataOf(origins[i]));
        fill_table(im.initTables(1)[0]);
        break;
      }
      case kSchemaChange: {
        auto sc = ev.getBody().initSchemaChange();
        sc.setTable("t");
        sc.setSql("CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)");
        auto cols = sc.initColumns(2);
        cols.set(0, "a");
        cols.set(1, "b");
        sc.initPkColumns(1).set(0, "id");
        break;
      }
    }
    if (!signature.empty()) ev.setSignature(DataOf(signature));
  }

  std::string Canonical() const {
    capnp::MallocMessageBuilder mb;
    Build(mb.initRoot<wire::Event>());
    return Canonicalize(mb.getRoot<wire::Event>().asReader());
  }
};

HandEvent HandImport() {
  HandEvent h;
  h.kind = HandEvent::kImport;
  h.site.clear();
  h.seq = 0;
  h.lamport = 1;
  h.origins = {std::string(AsBytes(Site(3))), std::string(AsBytes(Site(4)))};
  h.rows = OneRow(0, true, 1);
  return h;
}

std::string ParentBytes(uint8_t n) { return std::string(AsBytes(FakeHash(n))); }

// Encodes, checks the promises about the bytes, decodes, and returns the
// decoded event.
std::optional<Event> RoundTrip(const Event& e) {
  auto enc = EncodeEvent(e);
  EXPECT_TRUE(enc.ok()) << enc.status();
  if (!enc.ok()) return std::nullopt;
  EXPECT_EQ(enc->bytes.size() % 8, 0u);
  EXPECT_EQ(enc->hash, Sha256(enc->bytes));
  EXPECT_TRUE(CapnpSaysCanonical(enc->bytes)) << "EncodeEvent output is not canonical";
  auto dec = DecodeEvent(enc->bytes);
  EXPECT_TRUE(dec.ok()) << dec.status();
  if (!dec.ok()) return std::nullopt;
  auto header = DecodeEventHeader(enc->bytes);
  EXPECT_TRUE(header.ok()) << header.status();
  if (header.ok()) {
    EXPECT_EQ(header->kind, e.kind);
    EXPECT_EQ(header->site, e.site);
    EXPECT_EQ(header->seq, e.seq);
    EXPECT_EQ(header->lamport, e.lamport);
    EXPECT_EQ(header->time_micros, e.time_micros);
    EXPECT_EQ(header->parents, dec->parents);
    EXPECT_EQ(header->group, e.group);
  }
  // Encoding what was decoded gives the same bytes.
  auto again = EncodeEvent(*dec);
  EXPECT_TRUE(again.ok()) << again.status();
  if (again.ok()) {
    EXPECT_EQ(ToHex(again->bytes), ToHex(enc->bytes));
  }
  return *std::move(dec);
}

Event NativeWithParents() {
  return ChangeEvent(Site(7), 3, 5, {FakeHash(1), FakeHash(2)});
}

// --- Round trips -------------------------------------------------------------

TEST(EventCodecTest, ChangeEventRoundTrips) {
  Event e = NativeWithParents();
  e.tables = {OneRowTable("one", "alpha"), OneRowTable("two", "beta")};
  e.time_micros = -42;  // before the epoch is still a time
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
  EXPECT_EQ(d->kind, EventKind::kChange);
  EXPECT_TRUE(d->is_native());
}

TEST(EventCodecTest, ChangeEventWithZeroTrailingFieldsRoundTripsCanonically) {
  // A builder's own output is not canonical when the last data word is zero;
  // EncodeEvent must canonicalise anyway.
  Event e = ChangeEvent(Site(1), 1, 1, {});
  e.time_micros = 0;
  e.tables.clear();
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
}

TEST(EventCodecTest, ImportEventWithOriginsRoundTrips) {
  Event e = ImportEvent(99);
  e.origins = {Site(2), Site(5), Site(9)};
  RowsWriter w(true);
  w.BeginRow("k1", 1, 2);
  w.AddCell(0, 3, Value::Integer(1), 2);
  w.AddCell(1, 1, Value::Blob("b"), 0);
  w.BeginRow("k2", 2, 0);
  e.tables[0].columns = {"a", "b"};
  e.tables[0].row_count = w.row_count();
  e.tables[0].rows = w.Release();
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
  EXPECT_FALSE(d->is_native());
  auto rows = DecodeRows(d->tables[0].rows, d->tables[0].row_count, 2, /*with_origins=*/true);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)[0].cells[0].origin, 2u);
}

TEST(EventCodecTest, SchemaChangeEventRoundTrips) {
  Event e = ChangeEvent(Site(1), 2, 2, {FakeHash(3)});
  e.kind = EventKind::kSchemaChange;
  e.tables.clear();
  e.schema_change = {"todo", "CREATE TABLE todo(id INTEGER PRIMARY KEY, title TEXT, done INT)",
                     {"title", "done"}, {"id"}};
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
}

TEST(EventCodecTest, DroppedTableSchemaChangeRoundTrips) {
  Event e = ChangeEvent(Site(1), 2, 2, {FakeHash(3)});
  e.kind = EventKind::kSchemaChange;
  e.tables.clear();
  e.schema_change.table = "todo";  // sql "" means dropped
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
}

TEST(EventCodecTest, PolicyEventRoundTrips) {
  Event e = ChangeEvent(Site(1), 4, 9, {FakeHash(3)});
  e.kind = EventKind::kPolicy;
  e.tables.clear();
  e.policy = {"todo", "title", "resolver:longest", "arg"};
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
  e.policy = {"todo", "", "lww", ""};  // whole table, empty trailing fields
  d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
}

TEST(EventCodecTest, ResolutionEventRoundTrips) {
  for (auto action : {ResolutionBody::Action::kChoose, ResolutionBody::Action::kDrop}) {
    Event e = ChangeEvent(Site(1), 4, 9, {FakeHash(3)});
    e.kind = EventKind::kResolution;
    e.tables.clear();
    e.resolution.action = action;
    e.resolution.fork = FakeHash(0x10);
    e.resolution.subjects = {FakeHash(0x11), FakeHash(0x12)};
    e.resolution.note = "keep the longer title";
    auto d = RoundTrip(e);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, e);
  }
}

TEST(EventCodecTest, CheckpointEventRoundTrips) {
  Event e = ChangeEvent(Site(1), 10, 20, {FakeHash(3)});
  e.kind = EventKind::kCheckpoint;
  e.checkpoint.frontier = {FakeHash(0x21), FakeHash(0x22)};
  e.tables = {OneRowTable("state-a", "a"), OneRowTable("state-b", "b")};
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
}

TEST(EventCodecTest, GroupedEventRoundTrips) {
  Event e = ChangeEvent(Site(1), 2, 2, {FakeHash(3)});
  e.group = {1, 3, FakeHash(0x44)};
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
  EXPECT_TRUE(d->group.grouped());
  Event first = ChangeEvent(Site(1), 1, 1, {});
  first.group = {0, 3, Hash{}};
  d = RoundTrip(first);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, first);
}

TEST(EventCodecTest, LargeIntegersSurvive) {
  Event e = ChangeEvent(Site(0xff), format::kMaxCounter, format::kMaxCounter, {});
  e.time_micros = std::numeric_limits<int64_t>::min();
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
}

// A counter at INT64_MAX would wrap the next db_version negative on every
// replica that folds it; such events are refused wherever they arrive.
TEST(EventCodecTest, CountersThatLeaveNoRoomToGrowAreRefused) {
  for (uint64_t too_big : {format::kMaxCounter + 1, uint64_t{std::numeric_limits<int64_t>::max()},
                           std::numeric_limits<uint64_t>::max()}) {
    SCOPED_TRACE(too_big);
    // Set after ChangeEvent, whose made-up time adds the seq.
    Event seq = ChangeEvent(Site(1), 1, 1, {});
    seq.seq = too_big;
    EXPECT_THAT(std::string(EncodeEvent(seq).status().message()), HasSubstr("no room to grow"));
    Event lamport = ChangeEvent(Site(1), 1, 1, {});
    lamport.lamport = too_big;
    EXPECT_THAT(std::string(EncodeEvent(lamport).status().message()), HasSubstr("no room to grow"));
    for (bool in_cell : {false, true}) {
      RowsWriter w;
      w.BeginRow("k", in_cell ? 1 : too_big, 1);
      w.AddCell(0, in_cell ? too_big : 1, Value::Integer(1));
      Event cells = ChangeEvent(Site(1), 1, 1, {});
      cells.tables = {TableChanges{"t", {"a"}, w.row_count(), w.Release(), {}}};
      EXPECT_THAT(std::string(EncodeEvent(cells).status().message()), HasSubstr("no room to grow"));
    }
  }
}

TEST(EventCodecTest, CountOpsCountsCellsAndDeletes) {
  Event e = ChangeEvent(Site(1), 1, 1, {});
  RowsWriter w;
  w.BeginRow("a", 1, 3);
  for (uint32_t c = 0; c < 3; ++c) w.AddCell(c, 1, Value::Integer(c));
  w.BeginRow("b", 2, 0);  // a delete
  w.BeginRow("c", 1, 1);
  w.AddCell(0, 1, Value::Null());
  TableChanges t{"u", {"x", "y", "z"}, w.row_count(), w.Release(), {}};
  e.tables = {OneRowTable("p"), t};  // OneRowTable has 2 cells
  EXPECT_EQ(e.CountOps(), 2u + 3u + 1u + 1u);
}

// The new key of a pk-changing UPDATE carries an existence entry at causal
// length 1; the event names such rows so every replica builds that entry.
TableChanges TwoRowsWithEntries(std::vector<std::string> entries, uint64_t second_cl = 1) {
  RowsWriter w;
  w.BeginRow("k1", 2, 0);  // the old key, deleted
  w.BeginRow("k5", second_cl, 1);
  w.AddCell(0, 1, Value::Text("x"));
  return TableChanges{"t", {"a"}, w.row_count(), w.Release(), std::move(entries)};
}

TEST(EventCodecTest, ExistenceEntriesRoundTrip) {
  Event e = ChangeEvent(Site(1), 1, 1, {});
  e.tables = {TwoRowsWithEntries({"k5"})};
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
  EXPECT_TRUE(d->tables[0].HasEntry("k5"));
  EXPECT_FALSE(d->tables[0].HasEntry("k1"));
}

TEST(EventCodecTest, MalformedExistenceEntriesAreRefused) {
  struct Case {
    TableChanges table;
    const char* error;
  };
  const Case cases[] = {
      {TwoRowsWithEntries({"k9"}), "names a row the table does not hold"},
      {TwoRowsWithEntries({"k1"}), "causal length 2, not 1"},
      {TwoRowsWithEntries({"k5"}, /*second_cl=*/3), "causal length 3, not 1"},
      {TwoRowsWithEntries({"k5", "k5"}), "not sorted and distinct"},
  };
  for (const Case& c : cases) {
    Event e = ChangeEvent(Site(1), 1, 1, {});
    e.tables = {c.table};
    auto enc = EncodeEvent(e);
    ASSERT_FALSE(enc.ok()) << c.error;
    EXPECT_THAT(std::string(enc.status().message()), HasSubstr(c.error));
  }
}

TEST(EventCodecTest, EveryKindHasADistinctName) {
  std::set<std::string> names;
  for (EventKind k : {EventKind::kChange, EventKind::kImport, EventKind::kSchemaChange,
                      EventKind::kPolicy, EventKind::kResolution, EventKind::kCheckpoint}) {
    const char* n = EventKindName(k);
    ASSERT_NE(n, nullptr);
    EXPECT_STRNE(n, "");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), 6u);
}

// --- Ids -----------------------------------------------------------------------

TEST(EventCodecTest, HashIsSha256OfTheCanonicalBytes) {
  auto enc = EncodeEvent(NativeWithParents());
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->hash, Sha256(enc->bytes));
}

// Ids of unsigned events must never change: logs written before events could
// be signed hold them, and peers name events by them. These ids were computed
// by the encoder as it was before the signature field existed.
TEST(EventCodecTest, UnsignedEventsKeepTheIdsTheyHadBeforeSignatures) {
  Event change;
  change.kind = EventKind::kChange;
  change.site = Site(0x11);
  change.seq = 1;
  change.lamport = 1;
  change.time_micros = 1'700'000'000'000'000;
  RowsWriter w;
  RowOp row;
  row.pk = "pk:1";
  row.causal_length = 1;
  row.cells.push_back(CellOp{0, 1, Value::Text("hello"), 0});
  w.AddRow(row);
  change.tables.push_back({"t", {"a"}, w.row_count(), w.Release(), {}});
  auto c = EncodeEvent(change);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ToHex(c->hash), "0be59b569bb5333db74565c3415060c62bb7a8959f6d553c407f3d4e7da57e79");
  EXPECT_EQ(c->bytes.size(), 168u);

  Event schema;
  schema.kind = EventKind::kSchemaChange;
  schema.site = Site(0x11);
  schema.seq = 2;
  schema.lamport = 2;
  schema.parents = {c->hash};
  schema.time_micros = 1'700'000'000'000'001;
  schema.schema_change = {"t", "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)", {"a"}, {"id"}};
  auto s = EncodeEvent(schema);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ToHex(s->hash), "76809f8872069002f059ab47fbd8fae91878806d7fb07cf46c63fe9608a9213b");
  EXPECT_EQ(s->bytes.size(), 256u);

  // The root keeps the four pointers it had (site, parents, group, body): an
  // absent signature adds no pointer, so no byte changes.
  auto words = ToWords(c->bytes);
  kj::ArrayPtr<const capnp::word> segs[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segs, 1));
  capnp::AnyStruct::Reader root = reader.getRoot<capnp::AnyStruct>();
  EXPECT_EQ(root.getPointerSection().size(), 4u);
}

TEST(EventCodecTest, SignatureRoundTripsAndAddsOnePointer) {
  Event e = NativeWithParents();
  e.signature = std::string(kSignatureBytes, '\x5a');
  auto d = RoundTrip(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, e);
  auto signed_enc = EncodeEvent(e);
  ASSERT_TRUE(signed_enc.ok());
  auto words = ToWords(signed_enc->bytes);
  kj::ArrayPtr<const capnp::word> segs[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segs, 1));
  EXPECT_EQ(reader.getRoot<capnp::AnyStruct>().getPointerSection().size(), 5u);
  e.signature.clear();
  auto unsigned_enc = EncodeEvent(e);
  ASSERT_TRUE(unsigned_enc.ok());
  EXPECT_NE(signed_enc->hash, unsigned_enc->hash);  // the id covers the signature
}

TEST(EventCodecTest, SignatureOfWrongLengthIsRefused) {
  Event e = NativeWithParents();
  e.signature = std::string(63, 'x');
  EXPECT_THAT(std::string(StatusOf(EncodeEvent(e)).message()), HasSubstr("64 bytes, not 63"));
}

TEST(EventCodecTest, SignedImportIsRefused) {
  Event e = ImportEvent(5);
  e.signature = std::string(kSignatureBytes, 'x');
  EXPECT_THAT(std::string(StatusOf(EncodeEvent(e)).message()), HasSubstr("never signed"));
}

TEST(EventCodecTest, EmptyButPresentSignatureIsRefused) {
  // A second spelling of "unsigned" would give the same content a second id.
  auto enc = EncodeEvent(NativeWithParents());
  ASSERT_TRUE(enc.ok());
  auto words = ToWords(enc->bytes);
  kj::ArrayPtr<const capnp::word> segs[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segs, 1));
  capnp::MallocMessageBuilder mb;
  mb.setRoot(reader.getRoot<wire::Event>());
  mb.getRoot<wire::Event>().initSignature(0);
  std::string bytes = Canonicalize(mb.getRoot<wire::Event>().asReader());
  ASSERT_TRUE(CapnpSaysCanonical(bytes));
  EXPECT_THAT(std::string(StatusOf(DecodeEvent(bytes)).message()), HasSubstr("empty signature"));
}

TEST(EventCodecTest, SameContentGivesSameIdWhateverTheParentOrder) {
  Event sorted = NativeWithParents();
  Event shuffled = sorted;
  shuffled.parents = {FakeHash(2), FakeHash(1), FakeHash(2), FakeHash(1)};
  auto a = EncodeEvent(sorted);
  auto b = EncodeEvent(shuffled);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->hash, b->hash);
  EXPECT_EQ(a->bytes, b->bytes);
  auto d = DecodeEvent(b->bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->parents, (std::vector<Hash>{FakeHash(1), FakeHash(2)}));
}

TEST(EventCodecTest, SameContentGivesSameIdWhateverTheTableOrder) {
  Event a = ChangeEvent(Site(1), 1, 1, {});
  a.tables = {OneRowTable("x", "apple"), OneRowTable("y", "banana"), OneRowTable("z", "cherry")};
  Event b = a;
  b.tables = {a.tables[2], a.tables[0], a.tables[1]};
  auto ea = EncodeEvent(a);
  auto eb = EncodeEvent(b);
  ASSERT_TRUE(ea.ok()) << ea.status();
  ASSERT_TRUE(eb.ok()) << eb.status();
  EXPECT_EQ(ea->hash, eb->hash);
  auto d = DecodeEvent(eb->bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->tables, a.tables);
}

TEST(EventCodecTest, ImportsOfTheSameChangesGetTheSameId) {
  // Two replicas importing the same foreign changes write the same event.
  EXPECT_EQ(testing::Encode(ImportEvent(5)).hash, testing::Encode(ImportEvent(5)).hash);
  EXPECT_NE(testing::Encode(ImportEvent(5)).hash, testing::Encode(ImportEvent(6)).hash);
}

TEST(EventCodecTest, UnsortedOrDuplicateOriginsAreRefused) {
  // The header: import origins must already be sorted and unique.
  Event e = ImportEvent(1);
  e.origins = {Site(5), Site(2)};
  EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  e.origins = {Site(2), Site(2)};
  EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  HandEvent h = HandImport();
  std::swap(h.origins[0], h.origins[1]);
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, DifferentContentGivesDifferentIds) {
  Event a = NativeWithParents();
  Event b = a;
  b.time_micros += 1;
  Event c = a;
  c.parents = {FakeHash(1)};
  std::set<Hash> ids = {testing::Encode(a).hash, testing::Encode(b).hash, testing::Encode(c).hash};
  EXPECT_EQ(ids.size(), 3u);
}

// --- Bad bytes -----------------------------------------------------------------

TEST(EventCodecTest, HandBuiltCanonicalEventDecodes) {
  // The control for the hand-built bad events below.
  Event expected;
  expected.kind = EventKind::kChange;
  expected.site = Site(1);
  expected.seq = 1;
  expected.lamport = 1;
  expected.time_micros = 12345;
  expected.tables = {TableChanges{"todo_items", {"a", "b"}, 1, OneRow(), {}}};
  auto d = DecodeEvent(HandEvent{}.Canonical());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, expected);
  EXPECT_OK(DecodeEvent(HandImport().Canonical()));
}

TEST(EventCodecTest, EmptyBytesAreRefused) {
  EXPECT_CODE(DecodeEvent(""), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeEventHeader(""), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, EveryTruncationIsRefused) {
  auto enc = EncodeEvent(NativeWithParents());
  ASSERT_TRUE(enc.ok()) << enc.status();
  for (size_t n = 0; n < enc->bytes.size(); ++n) {
    SCOPED_TRACE(::testing::Message() << "prefix " << n << " of " << enc->bytes.size());
    std::string_view cut = std::string_view(enc->bytes).substr(0, n);
    EXPECT_CODE(DecodeEvent(cut), absl::StatusCode::kInvalidArgument);
    // The header reader skips the body, so a cut inside the body may pass
    // it; whatever it returns must be the real header, never garbage.
    auto h = DecodeEventHeader(cut);
    if (h.ok()) {
      EXPECT_EQ(h->seq, 3u);
      EXPECT_EQ(h->lamport, 5u);
      EXPECT_EQ(h->parents, (std::vector<Hash>{FakeHash(1), FakeHash(2)}));
    }
  }
}

TEST(EventCodecTest, BytesNotAMultipleOfEightAreRefused) {
  auto enc = EncodeEvent(NativeWithParents());
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_CODE(DecodeEvent(enc->bytes + std::string(1, '\0')), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeEvent(enc->bytes + std::string(7, '\0')), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeEvent(enc->bytes.substr(0, enc->bytes.size() - 3)),
              absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, MisalignedBufferStillDecodes) {
  // The bytes may sit anywhere in memory (e.g. inside a larger message).
  auto enc = EncodeEvent(NativeWithParents());
  ASSERT_TRUE(enc.ok()) << enc.status();
  std::string buf = "x" + enc->bytes;
  auto d = DecodeEvent(std::string_view(buf).substr(1));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->seq, 3u);
}

TEST(EventCodecTest, TrailingZeroWordIsNotCanonical) {
  auto enc = EncodeEvent(NativeWithParents());
  ASSERT_TRUE(enc.ok()) << enc.status();
  std::string padded = enc->bytes + std::string(8, '\0');
  ASSERT_FALSE(CapnpSaysCanonical(padded));
  EXPECT_CODE(DecodeEvent(padded), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, BuilderOutputWithZeroLastDataWordIsRefused) {
  // A change event's body discriminant is 0, so the builder's last data
  // word is zero: its own layout is not canonical.
  capnp::MallocMessageBuilder mb;
  HandEvent{}.Build(mb.initRoot<wire::Event>());
  std::string raw = BuilderSegment(mb);
  ASSERT_FALSE(CapnpSaysCanonical(raw));
  EXPECT_CODE(DecodeEvent(raw), absl::StatusCode::kInvalidArgument);
  // The same content canonicalised is accepted.
  EXPECT_OK(DecodeEvent(Canonicalize(mb.getRoot<wire::Event>().asReader())));
}

TEST(EventCodecTest, ObjectsOutOfPreorderAreRefused) {
  HandEvent h;
  h.kind = HandEvent::kSchemaChange;  // non-zero discriminant: no zero data word
  h.seq = 2;
  h.lamport = 2;
  h.parents = {ParentBytes(1)};
  // The builder keeps a null signature pointer as the last pointer, which
  // canonical form truncates; a signature makes its raw output canonical.
  h.signature = std::string(kSignatureBytes, 's');
  {
    capnp::MallocMessageBuilder mb;
    h.Build(mb.initRoot<wire::Event>());
    std::string in_order = BuilderSegment(mb);
    ASSERT_TRUE(CapnpSaysCanonical(in_order)) << "control should be canonical";
    EXPECT_OK(DecodeEvent(in_order));
  }
  h.parents_before_site = true;
  capnp::MallocMessageBuilder mb;
  h.Build(mb.initRoot<wire::Event>());
  std::string out_of_order = BuilderSegment(mb);
  ASSERT_FALSE(CapnpSaysCanonical(out_of_order));
  EXPECT_CODE(DecodeEvent(out_of_order), absl::StatusCode::kInvalidArgument);
}

// Capnp's canonical form says nothing of bits no field uses, of enum values
// the schema lacks, or of how optional parts are spelled; an event has one
// spelling all the same, since its id is the hash of its bytes. Found by the
// event fuzzer (tests/fuzz/event_fuzzer.cc).
TEST(EventCodecTest, BitsNoFieldUsesAreRefused) {
  Event e = ChangeEvent(Site(1), 2, 2, {});
  e.kind = EventKind::kSchemaChange;  // non-zero discriminant: the tag word is kept
  e.tables.clear();
  e.schema_change = {"t", "CREATE TABLE t(id INTEGER PRIMARY KEY, a)", {"a"}, {"id"}};
  auto enc = EncodeEvent(e);
  ASSERT_TRUE(enc.ok()) << enc.status();
  // The root pointer, then the root's data words: seq, lamport, timeMicros,
  // and the body's tag in the low 16 bits of the fourth; its other 48 bits
  // belong to no field.
  std::string bytes = enc->bytes;
  const size_t tag_word = 8 + 3 * 8;
  ASSERT_EQ(static_cast<uint8_t>(bytes[tag_word]), 2u);
  bytes[tag_word + 2] = '\x2c';
  ASSERT_TRUE(CapnpSaysCanonical(bytes));
  auto d = DecodeEvent(bytes);
  EXPECT_CODE(d, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusOf(d).message(), HasSubstr("not the canonical encoding"));
}

TEST(EventCodecTest, UnknownResolutionActionIsRefused) {
  Event e = ChangeEvent(Site(1), 4, 4, {});
  e.kind = EventKind::kResolution;
  e.tables.clear();
  e.resolution.fork = FakeHash(0x10);
  auto enc = EncodeEvent(e);
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto words = ToWords(enc->bytes);
  kj::ArrayPtr<const capnp::word> segs[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segs, 1));
  capnp::MallocMessageBuilder mb;
  mb.setRoot(reader.getRoot<wire::Event>());
  mb.getRoot<wire::Event>().getBody().getResolution().setAction(static_cast<wire::Resolution::Action>(7));
  std::string bytes = Canonicalize(mb.getRoot<wire::Event>().asReader());
  ASSERT_TRUE(CapnpSaysCanonical(bytes));
  EXPECT_CODE(DecodeEvent(bytes), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, OnlyTheSpellingEncodeEventWritesIsAccepted) {
  // An ungrouped event written with a group of count 1: EncodeEvent writes
  // no group at all.
  HandEvent h;
  h.set_group = true;
  h.group_count = 1;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  // A resolution with no fork pointer: EncodeEvent always writes one.
  capnp::MallocMessageBuilder mb;
  auto root = mb.initRoot<wire::Event>();
  root.setSite(DataOf(std::string(AsBytes(Site(1)))));
  root.setSeq(1);
  root.setLamport(1);
  root.getBody().initResolution().setNote("no fork");
  EXPECT_CODE(DecodeEvent(Canonicalize(root.asReader())), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, MultiSegmentMessageIsRefused) {
  capnp::MallocMessageBuilder mb(1, capnp::AllocationStrategy::FIXED_SIZE);
  HandEvent h;
  h.parents = {ParentBytes(1), ParentBytes(2)};
  h.lamport = 2;
  h.Build(mb.initRoot<wire::Event>());
  auto segs = mb.getSegmentsForOutput();
  ASSERT_GT(segs.size(), 1u);
  // With its segment table (the usual stream framing).
  EXPECT_CODE(DecodeEvent(FromWords(capnp::messageToFlatArray(mb))),
              absl::StatusCode::kInvalidArgument);
  // The segments back to back, no table.
  std::string concatenated;
  for (auto seg : segs) concatenated += FromWords(seg);
  EXPECT_CODE(DecodeEvent(concatenated), absl::StatusCode::kInvalidArgument);
  // Canonicalised it is one segment and fine.
  EXPECT_OK(DecodeEvent(Canonicalize(mb.getRoot<wire::Event>().asReader())));
}

TEST(EventCodecTest, SingleSegmentWithSegmentTableIsRefused) {
  auto enc = EncodeEvent(NativeWithParents());
  ASSERT_TRUE(enc.ok()) << enc.status();
  // Stream framing: u32 segment count - 1 (= 0), u32 size in words.
  std::string framed(8, '\0');
  uint32_t words = static_cast<uint32_t>(enc->bytes.size() / 8);
  std::memcpy(&framed[4], &words, 4);
  EXPECT_CODE(DecodeEvent(framed + enc->bytes), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, RandomGarbageIsRefused) {
  const uint32_t seed = 1234;
  SCOPED_TRACE(::testing::Message() << "seed=" << seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 3000; ++i) {
    size_t n = (rng() % 2 == 0) ? 8 * (1 + rng() % 40) : rng() % 300;
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ASSERT_CODE(DecodeEvent(bytes), absl::StatusCode::kInvalidArgument);
    (void)DecodeEventHeader(bytes);  // must not crash
  }
}

TEST(EventCodecTest, FlippedBytesAreRefusedOrDecodeToAWellShapedEvent) {
  const uint32_t seed = 99;
  SCOPED_TRACE(::testing::Message() << "seed=" << seed);
  std::mt19937 rng(seed);
  Event base = ImportEvent(3);
  base.origins = {Site(1), Site(2)};
  auto enc = EncodeEvent(base);
  ASSERT_TRUE(enc.ok()) << enc.status();
  Event native = NativeWithParents();
  native.group = {1, 2, FakeHash(9)};
  auto enc2 = EncodeEvent(native);
  ASSERT_TRUE(enc2.ok()) << enc2.status();
  for (const std::string* good : {&enc->bytes, &enc2->bytes}) {
    for (int i = 0; i < 4000; ++i) {
      std::string bytes = *good;
      const int flips = 1 + static_cast<int>(rng() % 2);
      for (int f = 0; f < flips; ++f) {
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      auto d = DecodeEvent(bytes);
      if (!d.ok()) {
        ASSERT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument)
            << "iteration " << i << ": " << d.status();
        continue;
      }
      ASSERT_TRUE(CapnpSaysCanonical(bytes)) << "iteration " << i << " accepted non-canonical";
      ASSERT_OK(CheckEventShape(*d));
      auto again = EncodeEvent(*d);
      ASSERT_TRUE(again.ok() && again->bytes == bytes) << "iteration " << i << ": a second spelling";
      auto h = DecodeEventHeader(bytes);
      ASSERT_TRUE(h.ok()) << "iteration " << i << ": header refused what the event decoder took: "
                          << h.status();
      EXPECT_EQ(h->seq, d->seq);
      EXPECT_EQ(h->parents, d->parents);
    }
  }
}

TEST(EventCodecTest, OversizedEventIsRefused) {
  Event e = ChangeEvent(Site(1), 1, 1, {});
  e.tables = {OneRowTable(std::string(100000, 'x'))};
  EXPECT_CODE(EncodeEvent(e, 64 * 1024), absl::StatusCode::kInvalidArgument);
  auto enc = EncodeEvent(e);
  ASSERT_TRUE(enc.ok()) << enc.status();
  const size_t n = enc->bytes.size();
  EXPECT_CODE(DecodeEvent(enc->bytes, DecodeLimits{n - 8}), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeEvent(enc->bytes, DecodeLimits{64 * 1024}),
              absl::StatusCode::kInvalidArgument);
  EXPECT_OK(DecodeEvent(enc->bytes, DecodeLimits{n}));
  EXPECT_OK(EncodeEvent(e, n));
  EXPECT_CODE(EncodeEvent(e, n - 1), absl::StatusCode::kInvalidArgument);
}

// --- Shape rules ---------------------------------------------------------------

TEST(EventCodecTest, NativeEventNeedsSeqAtLeastOne) {
  EXPECT_CODE(EncodeEvent(ChangeEvent(Site(1), 0, 1, {})), absl::StatusCode::kInvalidArgument);
  HandEvent h;
  h.seq = 0;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, NativeEventNeedsLamportAtLeastOne) {
  EXPECT_CODE(EncodeEvent(ChangeEvent(Site(1), 1, 0, {})), absl::StatusCode::kInvalidArgument);
  HandEvent h;
  h.lamport = 0;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, NativeEventWithoutSixteenByteSiteIsRefused) {
  HandEvent h;
  h.site.clear();
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  h.site = std::string(15, '\x01');
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  h.site = std::string(17, '\x01');
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, ImportWithParentsIsRefused) {
  Event e = ImportEvent(1);
  e.parents = {FakeHash(1)};
  EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  HandEvent h = HandImport();
  h.parents = {ParentBytes(1)};
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, ImportWithASiteIsRefused) {
  Event e = ImportEvent(1);
  e.site = Site(1);
  EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  HandEvent h = HandImport();
  h.site = std::string(AsBytes(Site(1)));
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, ImportWithSeqOrLamportIsRefused) {
  Event e = ImportEvent(1);
  e.seq = 1;
  EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  e = ImportEvent(1);
  e.lamport = 2;
  EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  HandEvent h = HandImport();
  h.seq = 1;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  h = HandImport();
  h.lamport = 3;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, ImportCellNamingAnOriginPastTheListIsRefused) {
  HandEvent h = HandImport();
  h.rows = OneRow(0, true, 2);  // two origins: 0 and 1
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, EncodeEventRefusesWhatDecodeEventWouldRefuse) {
  // EncodeEvent must never hand out bytes (and an id) that no reader,
  // including the store, will accept.
  Event e = ImportEvent(1);  // one origin
  RowsWriter w(true);
  w.BeginRow("k", 1, 1);
  w.AddCell(0, 1, Value::Integer(1), /*origin=*/1);
  e.tables[0].rows = w.Release();
  {
    SCOPED_TRACE("origin past the list");
    EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  }

  e = ChangeEvent(Site(1), 1, 1, {});
  e.tables[0].columns = {"a"};  // the row names column 1 too
  {
    SCOPED_TRACE("column past the table");
    EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  }

  e = ChangeEvent(Site(1), 1, 1, {});
  e.tables[0].row_count = 2;
  {
    SCOPED_TRACE("row count mismatch");
    EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  }

  e = ChangeEvent(Site(1), 1, 1, {});
  e.tables[0].rows += "junk";
  {
    SCOPED_TRACE("garbage rows");
    EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  }
}

TEST(EventCodecTest, OriginThatIsNotASiteIdIsRefused) {
  HandEvent h = HandImport();
  h.origins[1] = std::string(15, '\x04');
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, UnsortedParentsBuiltByHandAreRefused) {
  HandEvent h;
  h.lamport = 2;
  h.parents = {ParentBytes(1), ParentBytes(2)};
  EXPECT_OK(DecodeEvent(h.Canonical()));
  h.parents = {ParentBytes(2), ParentBytes(1)};
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, DuplicateParentsBuiltByHandAreRefused) {
  HandEvent h;
  h.lamport = 2;
  h.parents = {ParentBytes(1), ParentBytes(1)};
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, ParentThatIsNotAHashIsRefused) {
  HandEvent h;
  h.lamport = 2;
  h.parents = {ParentBytes(1).substr(0, 31)};
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  h.parents = {""};
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, GroupIndexMustBeBelowCount) {
  Event e = ChangeEvent(Site(1), 1, 1, {});
  e.group = {3, 3, FakeHash(1)};
  EXPECT_CODE(EncodeEvent(e), absl::StatusCode::kInvalidArgument);
  e.group = {2, 3, FakeHash(1)};
  EXPECT_OK(EncodeEvent(e));
  HandEvent h;
  h.set_group = true;
  h.group_index = 3;
  h.group_count = 3;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  h.group_index = 1;
  h.group_count = 0;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, CheckEventShapeNamesEachRule) {
  EXPECT_OK(CheckEventShape(NativeWithParents()));
  EXPECT_OK(CheckEventShape(ImportEvent(1)));
  Event e = NativeWithParents();
  e.parents = {FakeHash(2), FakeHash(1)};
  EXPECT_CODE(CheckEventShape(e), absl::StatusCode::kInvalidArgument);
  e.parents = {FakeHash(1), FakeHash(1)};
  EXPECT_CODE(CheckEventShape(e), absl::StatusCode::kInvalidArgument);
  e = NativeWithParents();
  e.seq = 0;
  EXPECT_CODE(CheckEventShape(e), absl::StatusCode::kInvalidArgument);
  e = NativeWithParents();
  e.lamport = 0;
  EXPECT_CODE(CheckEventShape(e), absl::StatusCode::kInvalidArgument);
  e = NativeWithParents();
  e.group = {4, 2, FakeHash(1)};
  EXPECT_CODE(CheckEventShape(e), absl::StatusCode::kInvalidArgument);
  e = ImportEvent(1);
  e.parents = {FakeHash(1)};
  EXPECT_CODE(CheckEventShape(e), absl::StatusCode::kInvalidArgument);
  e = ImportEvent(1);
  e.site = Site(3);
  EXPECT_CODE(CheckEventShape(e), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, RowCountMismatchInATableIsRefused) {
  HandEvent h;
  h.row_count = 2;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  h.row_count = 0;
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, CellNamingAColumnPastTheTableIsRefused) {
  HandEvent h;
  h.rows = OneRow(2);  // columns are a, b
  auto st = StatusOf(DecodeEvent(h.Canonical()));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("todo_items")) << "should name the table";
}

TEST(EventCodecTest, GarbageRowsAreRefused) {
  HandEvent h;
  h.rows = std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
  h.rows = OneRow() + "junk";
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, ImportRowsWithoutOriginIndexesAreRefused) {
  HandEvent h = HandImport();
  RowsWriter w(/*with_origins=*/false);
  w.BeginRow("pk", 1, 1);
  w.AddCell(0, 1, Value::Null());  // read with origins, the tag is taken as the origin
  h.rows = w.Release();
  EXPECT_CODE(DecodeEvent(h.Canonical()), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crlog::log
