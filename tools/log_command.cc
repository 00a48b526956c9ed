// `crlog log PATH`: the log's published events, newest first, like `git log`.
// Reads through LogStore::ForEachNewestFirst and prints as it goes, so a long
// log starts showing at once and memory stays flat. An event whose bytes do
// not match its id, or do not decode, stops the listing with DataLoss.
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "log/hash.h"
#include "log/store.h"
#include "tools/commands.h"
#include "tools/log_path.h"
#include "tools/output.h"

namespace crlog::tools {

absl::Status RunLog(const LogOptions& options, const Io& io) {
  absl::StatusOr<std::unique_ptr<log::LogStore>> store = OpenLogForReading(options.path);
  if (!store.ok()) return store.status();

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
