// The on-disk layout of a crlog log, as named constants. The reader and the
// writer both include this; nothing else knows the layout. docs/format.md
// describes the same bytes in prose.
//
// A log is an LMDB environment (a directory, e.g. app.db-crlog/) holding seven
// named databases:
//   meta      text key -> value        format version, owner, settings
//   events    position (u64 BE)  -> hash (32 bytes) + canonical event bytes
//   by_hash   hash (32 bytes)    -> position (u64 BE)
//   by_site   site (16) + seq (u64 BE) -> position (u64 BE)   native events
//   heads     hash (32 bytes)    -> empty                     published heads
//   pending   position (u64 BE)  -> hash (32 bytes)           not yet published
//   arrivals  position (u64 BE)  -> local time it was stored (i64 BE, micros)
// "position" is the local arrival order: appends use MDB_APPEND.
#ifndef CRLOG_LOG_FORMAT_H_
#define CRLOG_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "crlog/event.h"

namespace crlog::log::format {

// Bumped on any change a reader of the previous version cannot read.
inline constexpr uint32_t kFormatVersion = 1;

inline constexpr char kMetaDb[] = "meta";
inline constexpr char kEventsDb[] = "events";
inline constexpr char kByHashDb[] = "by_hash";
inline constexpr char kBySiteDb[] = "by_site";
inline constexpr char kHeadsDb[] = "heads";
inline constexpr char kPendingDb[] = "pending";
inline constexpr char kArrivalsDb[] = "arrivals";
// Pending events recovery judged uncommitted, kept until a later commit
// makes that certain (log/store.h, SetAside).
inline constexpr char kSetAsideDb[] = "set_aside";
inline constexpr unsigned kMaxDbs = 16;

// Keys of the meta database.
inline constexpr char kMetaFormatVersion[] = "format_version";  // u32 BE
inline constexpr char kMetaOwner[] = "owner";  // opaque id of the database that owns the log

// The largest seq, lamport, causal length or column version an event may
// carry, and the largest version or seq crsql_changes accepts: far below
// INT64_MAX, so each can still grow (one at INT64_MAX would make the next
// db_version negative, and peers would refuse it).
inline constexpr uint64_t kMaxCounter = uint64_t{1} << 62;

inline constexpr size_t kHashSize = 32;
inline constexpr size_t kSiteSize = 16;
inline constexpr size_t kPositionSize = 8;
inline constexpr size_t kBySiteKeySize = kSiteSize + 8;
// events value: the event id, then the canonical bytes.
inline constexpr size_t kEventValueHeader = kHashSize;

// Default LMDB map size: address space, not disk; the file grows as used.
inline constexpr size_t kDefaultMapSize = size_t{64} << 30;
// Largest event accepted (canonical bytes). Bigger transactions become
// event groups.
inline constexpr size_t kDefaultMaxEventBytes = crlog::kDefaultMaxEventBytes;

// Row encoding value tags (low 3 bits of the tag byte); equal to
// crlog::ValueType and to SQLite's type numbers.
inline constexpr uint8_t kTagInteger = 1;
inline constexpr uint8_t kTagReal = 2;
inline constexpr uint8_t kTagText = 3;
inline constexpr uint8_t kTagBlob = 4;
inline constexpr uint8_t kTagNull = 5;

}  // namespace crlog::log::format

#endif  // CRLOG_LOG_FORMAT_H_
