// Writes the seed corpus of the fuzz targets: valid events of every kind,
// bundles of events that chain (so Append gets past decoding), and scripts
// for the crsql_changes target. Deterministic: the same build writes the same
// files, so tests/fuzz/corpus/ changes only when this program does.
//   crlog_fuzz_make_corpus <corpus dir>    (writes <dir>/{event,bundle,changes}/seed-*)
// Inputs the fuzzer found interesting are kept beside the seeds, as found-*.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "log/bundle.h"
#include "log/event.h"
#include "log/row_codec.h"
#include "schema/packed_pk.h"
#include "tests/fuzz/changes_input.h"

namespace crlog::fuzz {
namespace {

using log::Event;
using log::EventKind;
using log::Hash;
using log::SiteId;

SiteId Site(uint8_t n) {
  SiteId s{};
  s.fill(n);
  return s;
}

Hash FakeHash(uint8_t n) {
  Hash h{};
  h.fill(n);
  return h;
}

// Table t (a, b, c) of the changes target's schema, with rows of each kind:
// a live row with cells of every storage class, a deleted one.
log::TableChanges TableT(int64_t key, bool with_origins) {
  log::RowsWriter w(with_origins);
  log::RowOp live;
  live.pk = schema::PackColumns({Value::Integer(key), Value::Text("k")});
  live.causal_length = 1;
  live.cells = {{2, 1, Value::Text("hello"), 0, 1},
                {3, 2, Value::Real(1.5), 0, 2},
                {4, 1, Value::Blob(std::string("\x00\xff", 2)), 0, 3}};
  w.AddRow(live);
  log::RowOp gone;
  gone.pk = schema::PackColumns({Value::Integer(key + 1), Value::Text("")});
  gone.causal_length = 2;
  w.AddRow(gone);
  log::TableChanges t;
  t.table = "t";
  t.columns = {"a", "b", "c", "d", "e"};
  t.row_count = w.row_count();
  t.rows = w.Release();
  t.entries = {};
  return t;
}

log::TableChanges TableK(bool with_origins) {
  log::RowsWriter w(with_origins);
  log::RowOp row;
  row.pk = schema::PackColumns({Value::Text("only-pk")});
  row.causal_length = 1;
  w.AddRow(row);
  log::TableChanges t;
  t.table = "k";
  t.columns = {"x"};
  t.row_count = w.row_count();
  t.rows = w.Release();
  t.entries = {row.pk};
  return t;
}

Event Change(const SiteId& site, uint64_t seq, uint64_t lamport, std::vector<Hash> parents) {
  Event e;
  e.kind = EventKind::kChange;
  e.site = site;
  e.seq = seq;
  e.lamport = lamport;
  e.time_micros = 1'700'000'000'000'000 + static_cast<int64_t>(seq);
  e.parents = std::move(parents);
  e.tables = {TableK(false), TableT(static_cast<int64_t>(seq) * 10, false)};
  return e;
}

log::EncodedEvent Encode(const Event& e) {
  auto encoded = log::EncodeEvent(e);
  if (!encoded.ok()) {
    std::fprintf(stderr, "make_corpus: %s\n", std::string(encoded.status().message()).c_str());
    std::exit(1);
  }
  return *encoded;
}

void Write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

void WriteEvents(const std::filesystem::path& dir) {
  Write(dir, "seed-change", Encode(Change(Site(0x11), 1, 1, {})).bytes);
  Write(dir, "seed-change-parents", Encode(Change(Site(0x11), 7, 9, {FakeHash(1), FakeHash(2)})).bytes);

  Event imp;
  imp.kind = EventKind::kImport;
  imp.lamport = 1;
  imp.origins = {Site(0x22), Site(0x33)};
  imp.tables = {TableK(true), TableT(5, true)};
  Write(dir, "seed-import", Encode(imp).bytes);

  Event schema;
  schema.kind = EventKind::kSchemaChange;
  schema.site = Site(0x11);
  schema.seq = 2;
  schema.lamport = 2;
  schema.schema_change = {"t", "ALTER TABLE t ADD COLUMN f", {"a", "b", "c", "d", "e", "f"}, {"a", "b"}};
  Write(dir, "seed-schema", Encode(schema).bytes);

  Event policy;
  policy.kind = EventKind::kPolicy;
  policy.site = Site(0x11);
  policy.seq = 3;
  policy.lamport = 3;
  policy.policy = {"t", "c", "counter", ""};
  Write(dir, "seed-policy", Encode(policy).bytes);

  Event resolution;
  resolution.kind = EventKind::kResolution;
  resolution.site = Site(0x11);
  resolution.seq = 4;
  resolution.lamport = 4;
  resolution.resolution.action = log::ResolutionBody::Action::kDrop;
  resolution.resolution.fork = FakeHash(3);
  resolution.resolution.subjects = {FakeHash(4), FakeHash(5)};
  resolution.resolution.note = "keep mine";
  Write(dir, "seed-resolution", Encode(resolution).bytes);

  Event checkpoint;
  checkpoint.kind = EventKind::kCheckpoint;
  checkpoint.site = Site(0x11);
  checkpoint.seq = 5;
  checkpoint.lamport = 5;
  checkpoint.checkpoint.frontier = {FakeHash(6)};
  checkpoint.tables = {TableT(1, false)};
  Write(dir, "seed-checkpoint", Encode(checkpoint).bytes);

  Event grouped = Change(Site(0x11), 6, 6, {});
  grouped.group = {1, 3, FakeHash(7)};
  Write(dir, "seed-group-member", Encode(grouped).bytes);

  Event signed_event = Change(Site(0x11), 8, 8, {});
  signed_event.signature = std::string(log::kSignatureBytes, '\x5a');
  Write(dir, "seed-signed", Encode(signed_event).bytes);
}

void WriteBundles(const std::filesystem::path& dir) {
  // A chain on two sites with an import beside it, every parent present.
  auto a1 = Encode(Change(Site(0x11), 1, 1, {}));
  auto a2 = Encode(Change(Site(0x11), 2, 2, {a1.hash}));
  auto b1 = Encode(Change(Site(0x22), 1, 3, {a2.hash}));
  Event imp;
  imp.kind = EventKind::kImport;
  imp.origins = {Site(0x33)};
  imp.tables = {TableT(100, true)};
  auto i1 = Encode(imp);
  Write(dir, "seed-chain", log::BundleEvents({a1.bytes, a2.bytes, b1.bytes, i1.bytes}));
  Write(dir, "seed-one", log::BundleEvents({a1.bytes}));
  // The same event twice: the second is already present.
  Write(dir, "seed-repeat", log::BundleEvents({a1.bytes, a1.bytes}));

  // A complete event group of two members.
  Event first = Change(Site(0x44), 1, 1, {});
  first.group = {0, 2, Hash{}};
  auto g0 = Encode(first);
  Event second = Change(Site(0x44), 2, 2, {g0.hash});
  second.tables = {TableT(200, false)};
  second.group = {1, 2, g0.hash};
  auto g1 = Encode(second);
  Write(dir, "seed-group", log::BundleEvents({g0.bytes, g1.bytes}));
}

// One crsql_changes row, in the order the target reads it.
struct ChangeRow {
  uint8_t table = 0;  // table production (0 t, 3 u, 5 k, 6 'nope')
  std::vector<Value> pk;
  uint8_t cid = 0;    // cid production
  Value val;
  uint8_t col_version = 1, db_version = 1;
  uint8_t site = 0;
  uint8_t cl = 1, seq = 0;
};

void Put(ChangesWriter& w, const ChangeRow& c) {
  w.Byte(kChange);
  w.Byte(c.table);
  w.Byte(0);  // pk: packed values
  w.Byte(static_cast<uint8_t>(c.pk.size()));
  for (const Value& v : c.pk) w.AnyValue(v);
  w.Byte(c.cid);
  w.AnyValue(c.val);
  w.Counter(c.col_version);
  w.Counter(c.db_version);
  w.Byte(c.site);
  w.Counter(c.cl);
  w.Counter(c.seq);
}

// cid productions naming a column by index.
uint8_t Column(uint8_t index) { return static_cast<uint8_t>(index * 8); }
constexpr uint8_t kSentinel = 5;  // '-1'

void WriteChanges(const std::filesystem::path& dir) {
  const Value one = Value::Integer(1);
  {  // A batch from one peer to every table, then a read.
    ChangesWriter w;
    w.Byte(kBegin);
    Put(w, {0, {one, Value::Text("x")}, Column(2), Value::Text("hi"), 1, 1, 0, 1, 0});
    Put(w, {0, {one, Value::Text("x")}, Column(3), Value::Real(2.5), 1, 1, 0, 1, 1});
    Put(w, {3, {Value::Integer(7)}, Column(2), Value::Integer(5), 1, 2, 1, 1, 0});
    Put(w, {5, {Value::Text("z")}, kSentinel, Value::Null(), 1, 2, 1, 1, 1});
    w.Byte(kReadChanges);
    w.AnyValue(Value::Integer(0));
    w.Byte(kCommit);
    Write(dir, "seed-batch", w.bytes());
  }
  {  // Local writes, then a peer deletes and revives a row.
    ChangesWriter w;
    w.Byte(kLocalWrite);
    w.Byte(0);
    w.Byte(0);
    for (const Value& v : {one, Value::Text("x"), Value::Text("c"), Value::Real(1), Value::Blob("b")}) {
      w.AnyValue(v);
    }
    w.Byte(kLocalWrite);
    w.Byte(1);
    w.Byte(1);
    w.Byte(1);  // column v
    w.AnyValue(Value::Text("new"));
    w.AnyValue(Value::Integer(3));
    Put(w, {0, {one, Value::Text("x")}, kSentinel, Value::Null(), 2, 5, 2, 2, 0});
    Put(w, {0, {one, Value::Text("x")}, kSentinel, Value::Null(), 3, 6, 2, 3, 0});
    Put(w, {0, {one, Value::Text("x")}, Column(4), Value::Blob("zz"), 1, 6, 2, 3, 1});
    Write(dir, "seed-delete-revive", w.bytes());
  }
  {  // A refused row poisons its transaction; a savepoint rolled back.
    ChangesWriter w;
    w.Byte(kBegin);
    w.Byte(kSavepoint);
    w.Byte(0);
    Put(w, {3, {Value::Integer(1)}, Column(1), Value::Text("a"), 1, 1, 0, 1, 0});
    w.Byte(kRollbackTo);
    w.Byte(0);
    Put(w, {6, {one}, Column(0), one, 1, 1, 0, 1, 0});
    w.Byte(kCommit);
    Write(dir, "seed-poisoned", w.bytes());
  }
  {  // Settings: equal values tie-break, tiny events (groups), a version floor.
    ChangesWriter w;
    w.Byte(kConfigSet);
    w.Byte(0);
    w.AnyValue(one);
    w.Byte(kConfigSet);
    w.Byte(2);
    w.AnyValue(Value::Integer(64));
    w.Byte(kBegin);
    w.Byte(kNextDbVersion);
    w.AnyValue(Value::Integer(40));
    for (uint8_t i = 0; i < 6; ++i) {
      Put(w, {3, {Value::Integer(i)}, Column(1), Value::Text(std::string(20, static_cast<char>('a' + i))), 1, 3, static_cast<uint8_t>(i % 3), 1, i});
    }
    w.Byte(kCommit);
    Write(dir, "seed-settings", w.bytes());
  }
}

}  // namespace
}  // namespace crlog::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: crlog_fuzz_make_corpus <corpus dir>\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  crlog::fuzz::WriteEvents(dir / "event");
  crlog::fuzz::WriteBundles(dir / "bundle");
  crlog::fuzz::WriteChanges(dir / "changes");
  return 0;
}
