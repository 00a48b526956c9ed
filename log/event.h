// What log/ adds to the public event (crlog/event.h): the shape rules that
// need no log, and the header fields DAG walks read without decoding rows.
#ifndef CRLOG_LOG_EVENT_H_
#define CRLOG_LOG_EVENT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "log/format.h"
#include "log/hash.h"
#include "crlog/event.h"
#include "log/row_codec.h"

namespace crlog::log {

// The event's types and its encoding are public (crlog/event.h); log/ code
// names them as its own.
using crlog::CellOp;
using crlog::CheckpointBody;
using crlog::DecodeEvent;
using crlog::DecodeLimits;
using crlog::EncodedEvent;
using crlog::EncodeEvent;
using crlog::Event;
using crlog::EventKind;
using crlog::EventKindName;
using crlog::GroupInfo;
using crlog::kSignatureBytes;
using crlog::PolicyBody;
using crlog::ResolutionBody;
using crlog::RowOp;
using crlog::SchemaChangeBody;
using crlog::TableChanges;

// Rules that hold for every event on its own: a native event has a 16-byte
// site, seq >= 1, lamport >= 1; an import has no site, seq 0, no parents and
// lamport 1; parents sorted and unique; group index < count; a signature
// is empty or 64 bytes, and only on a native event.
absl::Status CheckEventShape(const Event& event);

// The few header fields that DAG walks need, read without decoding rows.
struct EventHeader {
  EventKind kind = EventKind::kChange;
  SiteId site{};
  uint64_t seq = 0;
  uint64_t lamport = 0;
  int64_t time_micros = 0;
  std::vector<Hash> parents;
  GroupInfo group;
};
absl::StatusOr<EventHeader> DecodeEventHeader(std::string_view bytes,
                                              const DecodeLimits& limits = {});

}  // namespace crlog::log

#endif  // CRLOG_LOG_EVENT_H_
