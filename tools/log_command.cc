// `crlog log PATH`: the log's published events, newest first, like `git log`.
// Reads through LogStore::ForEachNewestFirst and prints as it goes, so a long
// log starts showing at once and memory stays flat. An event whose bytes do
// not match its id, or do not decode, stops the listing with DataLoss.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "log/hash.h"
#include "log/row_codec.h"
#include "log/store.h"
#include "schema/packed_pk.h"
#include "tools/commands.h"
#include "tools/log_path.h"
#include "tools/output.h"

namespace crlog::tools {
namespace {

// A --pk value as the column value it most likely names: an integer, a
// real, else text.
Value PlainValue(const std::string& text) {
  int64_t i;
  if (absl::SimpleAtoi(text, &i)) return Value::Integer(i);
  double d;
  if (absl::SimpleAtod(text, &d) && text.find_first_of(".eE") != std::string::npos) return Value::Real(d);
  return Value::Text(text);
}

// Whether `event` passes the filters of `options`; `packed_pk` is --pk packed.
bool Matches(const LogOptions& options, const log::Event& event, const std::optional<std::string>& packed_pk) {
  if (options.site) {
    auto starts = [&](const log::SiteId& site) { return absl::StartsWith(log::ToHex(site), *options.site); };
    bool any = event.kind == log::EventKind::kImport
                   ? std::any_of(event.origins.begin(), event.origins.end(), starts)
                   : starts(event.site);
    if (!any) return false;
  }
  const bool timed = !(event.kind == log::EventKind::kImport && event.time_micros == 0);
  if (options.since_micros && (!timed || event.time_micros < *options.since_micros)) return false;
  if (options.until_micros && (!timed || event.time_micros >= *options.until_micros)) return false;
  if (options.table) {
    if (event.kind == log::EventKind::kSchemaChange) return !packed_pk && event.schema_change.table == *options.table;
    for (const log::TableChanges& t : event.tables) {
      if (t.table != *options.table) continue;
      if (!packed_pk) return true;
      log::RowsReader rows(t.rows, event.kind == log::EventKind::kImport);
      log::RowOp op;
      while (!rows.done() && rows.Next(static_cast<uint32_t>(t.columns.size()), &op).ok()) {
        if (op.pk == *packed_pk) return true;
      }
    }
    return false;
  }
  return true;
}

}  // namespace

absl::Status RunLog(const LogOptions& options, const Io& io) {
  absl::StatusOr<std::unique_ptr<log::LogStore>> store = OpenLogForReading(options.path);
  if (!store.ok()) return store.status();

  std::optional<std::string> packed_pk;
  if (!options.pk.empty()) {
    std::vector<Value> values;
    for (const std::string& v : options.pk) values.push_back(PlainValue(v));
    packed_pk = schema::PackColumns(values);
  }
  const bool json = options.format == LogOptions::Format::kJson;
  if (json) io.out << "[";
  uint64_t shown = 0;
  absl::Status fault;
  if (!options.limit || *options.limit > 0) {
    absl::Status walk = (*store)->ForEachNewestFirst([&](const log::StoredEvent& stored) {
      // What is shown must be what the id names: one SHA-256 per event is
      // cheap next to printing it. (Links, seqs and indexes are verify's.)
      if (log::Sha256(stored.bytes) != stored.hash) {
        fault = absl::DataLossError(absl::StrCat(
            "event ", log::ToHex(stored.hash), " at position ", stored.position, " of '",
            (*store)->path(), "' was altered: its bytes do not hash to its id; run `crlog verify` "
            "on the log to find every fault"));
        return false;
      }
      absl::StatusOr<log::Event> event = stored.Decode();
      if (!event.ok()) {
        fault = absl::DataLossError(absl::StrCat(
            "event ", log::ToHex(stored.hash), " at position ", stored.position, " of '",
            (*store)->path(), "' does not decode: ", event.status().message(),
            "; run `crlog verify` on the log to find every fault"));
        return false;
      }
      if (!Matches(options, *event, packed_pk)) return true;
      EventView view{stored, *event};
      switch (options.format) {
        case LogOptions::Format::kJson:
          io.out << (shown == 0 ? "\n" : ",\n");
          PrintEventJson(view, io.out);
          break;
        case LogOptions::Format::kOneLine:
          PrintEventOneLine(view, io.out);
          if (options.ops) PrintEventOps(*event, io.out);
          break;
        case LogOptions::Format::kFull:
          if (shown > 0) io.out << "\n";
          PrintEventFull(view, io.out);
          if (options.ops) PrintEventOps(*event, io.out);
          break;
      }
      ++shown;
      return !options.limit || shown < *options.limit;
    });
    if (fault.ok() && !walk.ok()) {
      fault = absl::Status(walk.code(), absl::StrCat("reading the log '", (*store)->path(),
                                                     "' failed: ", walk.message()));
    }
  }
  // A damaged log leaves the JSON unterminated, so a script cannot mistake a
  // partial list for the whole one.
  if (json && fault.ok()) io.out << (shown == 0 ? "]\n" : "\n]\n");
  io.out.flush();
  return fault;
}

}  // namespace crlog::tools
