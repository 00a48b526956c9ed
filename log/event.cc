// Conversion between the in-memory Event and its canonical Cap'n Proto bytes
// (log/event.capnp). Every path from untrusted bytes goes through
// DecodeEvent, which refuses anything but a well-formed canonical message;
// Cap'n Proto's exceptions are caught here and become statuses.
#include "log/event.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "log/format.h"
#include "util/strings.h"
#include "event.capnp.h"

namespace crlog {

bool TableChanges::HasEntry(std::string_view pk) const {
  return std::binary_search(entries.begin(), entries.end(), pk);
}

}  // namespace crlog

namespace crlog::log {


namespace {

constexpr SiteId kNoSite{};
constexpr Hash kNoHash{};

capnp::Data::Reader AsData(std::string_view s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
template <size_t N>
capnp::Data::Reader AsData(const std::array<uint8_t, N>& a) {
  return capnp::Data::Reader(a.data(), N);
}
std::string_view View(capnp::Data::Reader d) {
  return std::string_view(reinterpret_cast<const char*>(d.begin()), d.size());
}
std::string_view View(capnp::Text::Reader t) { return std::string_view(t.begin(), t.size()); }

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed event: ", Sv(what)));
}

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> FixedBytes(capnp::Data::Reader d, const char* what) {
  if (d.size() != N) {
    return Invalid(absl::StrCat(what, " is ", d.size(), " bytes, not ", N));
  }
  return ToArray<N>(View(d));
}

// Every row decodes, names only listed columns (and origins), and the count
// matches. Shared by EncodeEvent and DecodeEvent, so an id is never handed
// out for bytes the store would refuse.
absl::Status CheckRows(const TableChanges& tc, bool with_origins, size_t origin_count) {
  if (!std::is_sorted(tc.entries.begin(), tc.entries.end()) ||
      std::adjacent_find(tc.entries.begin(), tc.entries.end()) != tc.entries.end()) {
    return Invalid(absl::StrCat("table '", tc.table, "': existence entries are not sorted and distinct"));
  }
  size_t entries_found = 0;
  RowsReader reader(tc.rows, with_origins);
  RowOp row;
  uint32_t n = 0;
  while (!reader.done()) {
    if (absl::Status s = reader.Next(tc.columns.size(), &row); !s.ok()) {
      return Invalid(absl::StrCat("table '", tc.table, "': ", s.message()));
    }
    if (row.causal_length > format::kMaxCounter || row.seq > format::kMaxCounter) {
      return Invalid(absl::StrCat("table '", tc.table, "': a row's causal length ", row.causal_length,
                                  " or seq leaves no room to grow (at most 2^62)"));
    }
    for (const CellOp& cell : row.cells) {
      if (cell.version > format::kMaxCounter || cell.seq > format::kMaxCounter) {
        return Invalid(absl::StrCat("table '", tc.table, "': a cell's column version ", cell.version,
                                    " or seq leaves no room to grow (at most 2^62)"));
      }
    }
    if (with_origins && row.origin >= origin_count) {
      return Invalid(absl::StrCat("table '", tc.table, "': a row names origin ", row.origin, " of ",
                                  origin_count));
    }
    for (const CellOp& cell : row.cells) {
      if (with_origins && cell.origin >= origin_count) {
        return Invalid(absl::StrCat("table '", tc.table, "': a cell names origin ", cell.origin,
                                    " of ", origin_count));
      }
    }
    if (!tc.entries.empty() && tc.HasEntry(row.pk)) {
      if (row.causal_length != 1) {
        return Invalid(absl::StrCat("table '", tc.table, "': an existence entry names a row of causal length ",
                                    row.causal_length, ", not 1"));
      }
      ++entries_found;
    }
    ++n;
  }
  if (n != tc.row_count) {
    return Invalid(absl::StrCat("table '", tc.table, "' holds ", n, " rows but says ", tc.row_count));
  }
  if (entries_found != tc.entries.size()) {
    return Invalid(absl::StrCat("table '", tc.table, "': an existence entry names a row the table does not hold"));
  }
  return absl::OkStatus();
}

void SetTables(const std::vector<TableChanges>& tables,
               capnp::List<wire::TableOps>::Builder out) {
  for (size_t i = 0; i < tables.size(); ++i) {
    const TableChanges& t = tables[i];
    auto b = out[i];
    b.setTable(t.table);
    auto cols = b.initColumns(t.columns.size());
    for (size_t c = 0; c < t.columns.size(); ++c) cols.set(c, t.columns[c]);
    b.setRowCount(t.row_count);
    if (!t.rows.empty()) b.setRows(AsData(t.rows));
    if (!t.entries.empty()) {
      auto entries = b.initEntries(t.entries.size());
      for (size_t e = 0; e < t.entries.size(); ++e) entries.set(e, AsData(t.entries[e]));
    }
  }
}

absl::Status GetTables(capnp::List<wire::TableOps>::Reader in, bool with_origins,
                       size_t origin_count, bool check_rows, std::vector<TableChanges>* out) {
  out->reserve(in.size());
  for (auto t : in) {
    TableChanges tc;
    tc.table = std::string(View(t.getTable()));
    for (auto c : t.getColumns()) tc.columns.emplace_back(View(c));
    tc.row_count = t.getRowCount();
    tc.rows = std::string(View(t.getRows()));
    for (auto e : t.getEntries()) tc.entries.emplace_back(View(e));
    // Check the rows now so nothing downstream meets a corrupt buffer.
    if (check_rows) {
      if (absl::Status s = CheckRows(tc, with_origins, origin_count); !s.ok()) return s;
    }
    out->push_back(std::move(tc));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status GetHashes(T list, const char* what, std::vector<Hash>* out) {
  out->reserve(list.size());
  for (auto h : list) {
    auto hash = FixedBytes<32>(h, what);
    if (!hash.ok()) return hash.status();
    out->push_back(*hash);
  }
  return absl::OkStatus();
}

// Cap'n Proto reads words in place; LMDB hands out values aligned to 2 bytes
// only (large values in overflow pages are page aligned), so small unaligned
// values are copied.
class AlignedWords {
 public:
  explicit AlignedWords(std::string_view bytes) {
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
      words_ = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / 8);
    } else {
      copy_ = kj::heapArray<capnp::word>(bytes.size() / 8);
      std::memcpy(copy_.begin(), bytes.data(), bytes.size());
      words_ = copy_;
    }
  }
  kj::ArrayPtr<const capnp::word> words() const { return words_; }

 private:
  kj::Array<capnp::word> copy_;
  kj::ArrayPtr<const capnp::word> words_;
};

absl::Status CheckSize(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.max_event_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("event is ", bytes.size(),
                                                   " bytes, over the limit of ",
                                                   limits.max_event_bytes));
  }
  if (bytes.empty() || bytes.size() % 8 != 0) {
    return Invalid(absl::StrCat("event is ", bytes.size(),
                                " bytes; canonical Cap'n Proto is a whole number of 8-byte words "
                                "(truncated?)"));
  }
  return absl::OkStatus();
}

capnp::ReaderOptions ReaderLimits(size_t bytes) {
  capnp::ReaderOptions options;
  // A canonical message is traversed once; allow for the header walk too.
  options.traversalLimitInWords = bytes / 8 * 2 + 64;
  options.nestingLimit = 16;
  return options;
}

absl::Status ReadHeader(wire::Event::Reader root, EventHeader* h) {
  switch (root.getBody().which()) {
    case wire::Event::Body::CHANGE: h->kind = EventKind::kChange; break;
    case wire::Event::Body::IMPORT: h->kind = EventKind::kImport; break;
    case wire::Event::Body::SCHEMA_CHANGE: h->kind = EventKind::kSchemaChange; break;
    case wire::Event::Body::POLICY: h->kind = EventKind::kPolicy; break;
    case wire::Event::Body::RESOLUTION: h->kind = EventKind::kResolution; break;
    case wire::Event::Body::CHECKPOINT: h->kind = EventKind::kCheckpoint; break;
    default: return Invalid("unknown event kind (written by a newer crlog?)");
  }
  if (root.hasSite()) {
    auto site = FixedBytes<16>(root.getSite(), "site");
    if (!site.ok()) return site.status();
    h->site = *site;
  }
  h->seq = root.getSeq();
  h->lamport = root.getLamport();
  h->time_micros = root.getTimeMicros();
  if (absl::Status s = GetHashes(root.getParents(), "a parent id", &h->parents); !s.ok()) return s;
  auto g = root.getGroup();
  h->group.index = g.getIndex();
  h->group.count = g.getCount();
  if (g.hasFirst()) {
    auto first = FixedBytes<32>(g.getFirst(), "group first");
    if (!first.ok()) return first.status();
    h->group.first = *first;
  }
  return absl::OkStatus();
}

// The canonical bytes of an event whose parents and tables are in order.
absl::StatusOr<std::string> CanonicalBytes(const Event& e) {
  size_t estimate = 64 + e.parents.size() * 5;
  for (const TableChanges& t : e.tables) estimate += t.rows.size() / 8 + 16 + t.columns.size() * 4;
  try {
    capnp::MallocMessageBuilder builder(std::min<size_t>(estimate, 1u << 26));
    auto root = builder.initRoot<wire::Event>();
    if (e.site != kNoSite) root.setSite(AsData(e.site));
    root.setSeq(e.seq);
    root.setLamport(e.lamport);
    root.setTimeMicros(e.time_micros);
    if (!e.parents.empty()) {
      auto parents = root.initParents(e.parents.size());
      for (size_t i = 0; i < e.parents.size(); ++i) parents.set(i, AsData(e.parents[i]));
    }
    if (e.group.count > 1) {
      auto g = root.initGroup();
      g.setIndex(e.group.index);
      g.setCount(e.group.count);
      if (e.group.first != kNoHash) g.setFirst(AsData(e.group.first));
    }
    auto body = root.getBody();
    switch (e.kind) {
      case EventKind::kChange:
        SetTables(e.tables, body.initChange().initTables(e.tables.size()));
        break;
      case EventKind::kImport: {
        auto imp = body.initImport();
        auto origins = imp.initOrigins(e.origins.size());
        for (size_t i = 0; i < e.origins.size(); ++i) origins.set(i, AsData(e.origins[i]));
        SetTables(e.tables, imp.initTables(e.tables.size()));
        break;
      }
      case EventKind::kSchemaChange: {
        auto sc = body.initSchemaChange();
        sc.setTable(e.schema_change.table);
        sc.setSql(e.schema_change.sql);
        auto cols = sc.initColumns(e.schema_change.columns.size());
        for (size_t i = 0; i < e.schema_change.columns.size(); ++i) cols.set(i, e.schema_change.columns[i]);
        auto pks = sc.initPkColumns(e.schema_change.pk_columns.size());
        for (size_t i = 0; i < e.schema_change.pk_columns.size(); ++i) pks.set(i, e.schema_change.pk_columns[i]);
        break;
      }
      case EventKind::kPolicy: {
        auto p = body.initPolicy();
        p.setTable(e.policy.table);
        p.setColumn(e.policy.column);
        p.setRule(e.policy.rule);
        p.setArgument(e.policy.argument);
        break;
      }
      case EventKind::kResolution: {
        auto r = body.initResolution();
        r.setAction(e.resolution.action == ResolutionBody::Action::kChoose
                        ? wire::Resolution::Action::CHOOSE
                        : wire::Resolution::Action::DROP);
        r.setFork(AsData(e.resolution.fork));
        auto subjects = r.initSubjects(e.resolution.subjects.size());
        for (size_t i = 0; i < e.resolution.subjects.size(); ++i) subjects.set(i, AsData(e.resolution.subjects[i]));
        r.setNote(e.resolution.note);
        break;
      }
      case EventKind::kCheckpoint: {
        auto c = body.initCheckpoint();
        auto frontier = c.initFrontier(e.checkpoint.frontier.size());
        for (size_t i = 0; i < e.checkpoint.frontier.size(); ++i) frontier.set(i, AsData(e.checkpoint.frontier[i]));
        SetTables(e.tables, c.initTables(e.tables.size()));
        break;
      }
    }
    // Left null when unsigned, so canonicalisation drops the pointer.
    if (!e.signature.empty()) root.setSignature(AsData(e.signature));
    kj::Array<capnp::word> words = capnp::canonicalize(root.asReader());
    auto bytes = words.asBytes();
    return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  } catch (const kj::Exception& ex) {
    return absl::InternalError(absl::StrCat("encoding an event failed: ", ex.getDescription().cStr()));
  }
}

}  // namespace

}  // namespace crlog::log

namespace crlog {
using namespace ::crlog::log;  // the encoding's helpers

const char* EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kChange: return "change";
    case EventKind::kImport: return "import";
    case EventKind::kSchemaChange: return "schema";
    case EventKind::kPolicy: return "policy";
    case EventKind::kResolution: return "resolution";
    case EventKind::kCheckpoint: return "checkpoint";
  }
  return "unknown";
}

uint64_t Event::CountOps() const {
  uint64_t ops = 0;
  for (const TableChanges& t : tables) {
    RowsReader reader(t.rows, kind == EventKind::kImport);
    RowOp row;
    while (!reader.done() && reader.Next(t.columns.size(), &row).ok()) {
      ops += row.cells.empty() ? 1 : row.cells.size();
    }
  }
  return ops;
}

}  // namespace crlog

namespace crlog::log {

absl::Status CheckEventShape(const Event& e) {
  if (e.kind == EventKind::kImport) {
    if (e.site != kNoSite) return Invalid("an import event belongs to no site, but has one");
    if (e.seq != 0) return Invalid(absl::StrCat("an import event has no seq, but has ", e.seq));
    if (!e.parents.empty()) return Invalid("an import event has no parents, but has some");
    if (e.lamport != 1) return Invalid(absl::StrCat("an import event's lamport is 1, not ", e.lamport));
    for (size_t i = 1; i < e.origins.size(); ++i) {
      if (!(e.origins[i - 1] < e.origins[i])) return Invalid("import origins are not sorted and unique");
    }
  } else {
    if (e.site == kNoSite) return Invalid(absl::StrCat(EventKindName(e.kind), " event has no site"));
    if (e.seq == 0) return Invalid("a native event's seq starts at 1");
    if (e.lamport == 0) return Invalid("a native event's lamport starts at 1");
    if (e.seq > format::kMaxCounter || e.lamport > format::kMaxCounter) {
      return Invalid(absl::StrCat("seq ", e.seq, " / lamport ", e.lamport,
                                  " leaves no room to grow (at most 2^62)"));
    }
    if (!e.origins.empty()) return Invalid("only import events list origins");
  }
  if (!e.signature.empty()) {
    if (e.kind == EventKind::kImport) return Invalid("an import event is never signed, but has a signature");
    if (e.signature.size() != kSignatureBytes) {
      return Invalid(absl::StrCat("a signature is ", kSignatureBytes, " bytes, not ", e.signature.size()));
    }
  }
  for (size_t i = 1; i < e.parents.size(); ++i) {
    if (!(e.parents[i - 1] < e.parents[i])) return Invalid("parents are not sorted and unique");
  }
  if (e.group.count > 1) {
    if (e.group.index >= e.group.count) {
      return Invalid(absl::StrCat("group index ", e.group.index, " is not below its count ",
                                  e.group.count));
    }
    if ((e.group.index == 0) != (e.group.first == kNoHash)) {
      return Invalid("a group member names its first member (and the first names none)");
    }
  } else if (e.group.index != 0 || e.group.first != kNoHash) {
    return Invalid("an ungrouped event has a group index or first member");
  }
  bool has_tables = e.kind == EventKind::kChange || e.kind == EventKind::kImport ||
                    e.kind == EventKind::kCheckpoint;
  if (!has_tables && !e.tables.empty()) {
    return Invalid(absl::StrCat(EventKindName(e.kind), " events carry no table rows"));
  }
  for (size_t i = 1; i < e.tables.size(); ++i) {
    if (!(e.tables[i - 1].table < e.tables[i].table)) {
      return Invalid(absl::StrCat("tables are not sorted and unique at '", e.tables[i].table, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace crlog::log

namespace crlog {
using namespace ::crlog::log;  // the encoding's helpers

absl::StatusOr<EncodedEvent> EncodeEvent(Event e, size_t max_event_bytes) {
  std::sort(e.parents.begin(), e.parents.end());
  e.parents.erase(std::unique(e.parents.begin(), e.parents.end()), e.parents.end());
  std::sort(e.tables.begin(), e.tables.end(),
            [](const TableChanges& a, const TableChanges& b) { return a.table < b.table; });
  if (absl::Status s = CheckEventShape(e); !s.ok()) return s;
  for (const TableChanges& t : e.tables) {
    absl::Status s = CheckRows(t, e.kind == EventKind::kImport, e.origins.size());
    if (!s.ok()) return s;
  }

  auto bytes = CanonicalBytes(e);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() > max_event_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event is ", bytes->size(), " bytes, over the limit of ", max_event_bytes,
        ": split the transaction into an event group"));
  }
  EncodedEvent out;
  out.bytes = *std::move(bytes);
  out.hash = Sha256(out.bytes);
  return out;
}

}  // namespace crlog

namespace crlog::log {

absl::StatusOr<EventHeader> DecodeEventHeader(std::string_view bytes, const DecodeLimits& limits) {
  if (absl::Status s = CheckSize(bytes, limits); !s.ok()) return s;
  AlignedWords words(bytes);
  try {
    kj::ArrayPtr<const capnp::word> segments[1] = {words.words()};
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segments, 1), ReaderLimits(bytes.size()));
    EventHeader h;
    if (absl::Status s = ReadHeader(reader.getRoot<wire::Event>(), &h); !s.ok()) return s;
    return h;
  } catch (const kj::Exception& ex) {
    return Invalid(absl::StrCat("not a Cap'n Proto event: ", ex.getDescription().cStr()));
  }
}

}  // namespace crlog::log

namespace crlog {

absl::StatusOr<Event> DecodeEvent(std::string_view bytes, const DecodeLimits& limits) {
  if (absl::Status s = CheckSize(bytes, limits); !s.ok()) return s;
  AlignedWords words(bytes);
  try {
    kj::ArrayPtr<const capnp::word> segments[1] = {words.words()};
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segments, 1), ReaderLimits(bytes.size()));
    if (!limits.trusted && !reader.isCanonical()) {
      return Invalid("bytes are not in canonical form (truncated, padded or re-encoded)");
    }
    auto root = reader.getRoot<wire::Event>();
    EventHeader h;
    if (absl::Status s = ReadHeader(root, &h); !s.ok()) return s;
    Event e;
    e.kind = h.kind;
    e.site = h.site;
    e.seq = h.seq;
    e.lamport = h.lamport;
    e.time_micros = h.time_micros;
    e.parents = std::move(h.parents);
    e.group = h.group;
    auto body = root.getBody();
    absl::Status s;
    switch (e.kind) {
      case EventKind::kChange:
        s = GetTables(body.getChange().getTables(), false, 0, !limits.trusted, &e.tables);
        break;
      case EventKind::kImport: {
        auto imp = body.getImport();
        for (auto o : imp.getOrigins()) {
          auto site = FixedBytes<16>(o, "an origin site");
          if (!site.ok()) return site.status();
          e.origins.push_back(*site);
        }
        s = GetTables(imp.getTables(), true, e.origins.size(), !limits.trusted, &e.tables);
        break;
      }
      case EventKind::kSchemaChange: {
        auto sc = body.getSchemaChange();
        e.schema_change.table = std::string(View(sc.getTable()));
        e.schema_change.sql = std::string(View(sc.getSql()));
        for (auto c : sc.getColumns()) e.schema_change.columns.emplace_back(View(c));
        for (auto c : sc.getPkColumns()) e.schema_change.pk_columns.emplace_back(View(c));
        break;
      }
      case EventKind::kPolicy: {
        auto p = body.getPolicy();
        e.policy = {std::string(View(p.getTable())), std::string(View(p.getColumn())),
                    std::string(View(p.getRule())), std::string(View(p.getArgument()))};
        break;
      }
      case EventKind::kResolution: {
        auto r = body.getResolution();
        e.resolution.action = r.getAction() == wire::Resolution::Action::CHOOSE
                                  ? ResolutionBody::Action::kChoose
                                  : ResolutionBody::Action::kDrop;
        if (r.hasFork()) {
          auto fork = FixedBytes<32>(r.getFork(), "a fork id");
          if (!fork.ok()) return fork.status();
          e.resolution.fork = *fork;
        }
        s = GetHashes(r.getSubjects(), "a resolution subject", &e.resolution.subjects);
        e.resolution.note = std::string(View(r.getNote()));
        break;
      }
      case EventKind::kCheckpoint: {
        auto c = body.getCheckpoint();
        s = GetHashes(c.getFrontier(), "a checkpoint frontier id", &e.checkpoint.frontier);
        if (s.ok()) s = GetTables(c.getTables(), false, 0, !limits.trusted, &e.tables);
        break;
      }
    }
    if (!s.ok()) return s;
    if (root.hasSignature()) {
      // EncodeEvent writes no pointer for "unsigned"; a second spelling of
      // the same content would be a second id for it.
      if (root.getSignature().size() == 0) return Invalid("an empty signature is written as none");
      e.signature = std::string(View(root.getSignature()));
    }
    if (absl::Status shape = CheckEventShape(e); !shape.ok()) return shape;
    if (!limits.trusted) {
      // Cap'n Proto's canonical form leaves free the bits no field uses, enum
      // values the schema lacks, and optional parts (a group of count 1, a
      // missing fork). An id is the hash of the bytes, so an event must have
      // one spelling: the one EncodeEvent writes.
      auto again = CanonicalBytes(e);
      if (!again.ok()) return again.status();
      if (*again != bytes) {
        return Invalid("bytes are not the canonical encoding of their content (bits no field uses, an "
                       "unknown enum value, or a part crlog never writes): damaged, or written by a "
                       "newer crlog");
      }
    }
    return e;
  } catch (const kj::Exception& ex) {
    return Invalid(absl::StrCat("not a Cap'n Proto event: ", ex.getDescription().cStr()));
  }
}

}  // namespace crlog

namespace crlog::log {


}  // namespace crlog::log
