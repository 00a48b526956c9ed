// Fuzz target: the event decoder, log::DecodeEvent, the only way untrusted
// bytes (a peer's bundle, crlog_apply, a damaged log) become an Event.
//
// Invariants, for every input:
// - no decoder crashes, reads out of bounds or hits undefined behaviour,
//   whether the bytes start on a word boundary or not (LMDB hands out values
//   aligned to 2 bytes only), and whether read as untrusted or as trusted;
// - an accepted event has one spelling: encoding it again gives exactly the
//   input bytes and so the same id (a second spelling would be a second id for
//   the same content), and the header reader agrees with the full decoder;
// - whatever the trusted path returns (it skips the rows checks) can still be
//   walked row by row without harm.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/row_codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace crlog::log {
namespace {

// Steps through every row of every table, as the history views and blame do
// with stored events, then looks up the first row's key with Find.
void WalkRows(const Event& e) {
  const bool with_origins = e.kind == EventKind::kImport;
  for (const TableChanges& t : e.tables) {
    const auto columns = static_cast<uint32_t>(t.columns.size());
    RowsReader reader(t.rows, with_origins);
    RowOp row;
    std::string first_pk;
    bool first = true;
    while (!reader.done() && reader.Next(columns, &row).ok()) {
      if (first) first_pk = row.pk;
      first = false;
    }
    RowsReader finder(t.rows, with_origins);
    finder.Find(columns, first_pk, &row).IgnoreError();
    DecodeRows(t.rows, t.row_count, columns, with_origins).IgnoreError();
  }
  e.CountOps();
}

void CheckOneSpelling(std::string_view bytes, const Event& e) {
  auto again = EncodeEvent(e);
  CRLOG_FUZZ_CHECK(again.ok(), absl::StrCat("an accepted event does not encode: ", again.status().ToString()));
  CRLOG_FUZZ_CHECK(again->bytes == bytes,
                   absl::StrCat("an accepted ", EventKindName(e.kind), " event encodes to other bytes: two ",
                                "spellings of one event\n  input:   ", ToHex(bytes), "\n  encoded: ",
                                ToHex(again->bytes)));
  CRLOG_FUZZ_CHECK(again->hash == Sha256(bytes), "the id of an accepted event is not the hash of its bytes");
}

void CheckHeaderAgrees(std::string_view bytes, const Event& e) {
  auto h = DecodeEventHeader(bytes);
  CRLOG_FUZZ_CHECK(h.ok(), absl::StrCat("the header of an accepted event does not decode: ", h.status().ToString()));
  CRLOG_FUZZ_CHECK(h->kind == e.kind && h->site == e.site && h->seq == e.seq && h->lamport == e.lamport &&
                       h->time_micros == e.time_micros && h->parents == e.parents && h->group == e.group,
                   "the header reader and the full decoder disagree");
}

}  // namespace
}  // namespace crlog::log

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crlog::log;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto event = DecodeEvent(bytes);

  // The same bytes two bytes past a word boundary, as LMDB may hand them out.
  std::string shifted(size + 2, '\0');
  if (size > 0) std::memcpy(shifted.data() + 2, data, size);
  const std::string_view unaligned = std::string_view(shifted).substr(2);
  auto event_unaligned = DecodeEvent(unaligned);
  CRLOG_FUZZ_CHECK(event.ok() == event_unaligned.ok() && (!event.ok() || *event == *event_unaligned),
                   "decoding depends on the alignment of the bytes");

  DecodeEventHeader(unaligned).IgnoreError();
  auto trusted = DecodeEvent(unaligned, DecodeLimits{SIZE_MAX, /*trusted=*/true});
  if (trusted.ok()) WalkRows(*trusted);

  if (event.ok()) {
    CRLOG_FUZZ_CHECK(trusted.ok() && *trusted == *event, "the trusted path reads an accepted event differently");
    CheckOneSpelling(bytes, *event);
    CheckHeaderAgrees(bytes, *event);
  } else {
    CRLOG_FUZZ_CHECK(absl::IsInvalidArgument(event.status()) && !event.status().message().empty(),
                     absl::StrCat("a refusal that is not InvalidArgument with a message: ",
                                  event.status().ToString()));
  }
  return 0;
}
