// How the crlog commands show things: times, events (full, one-line, JSON),
// their rows, and a progress line. Commands decide what to print; this file
// decides how it looks, so `log` and `demo` show an event the same way.
#ifndef CRLOG_TOOLS_OUTPUT_H_
#define CRLOG_TOOLS_OUTPUT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

#include "crlog/event.h"
#include "crlog/ids.h"
#include "crlog/log.h"
#include "crlog/time.h"
#include "tools/json_value.h"

namespace crlog::tools {

// Where a command writes. `out` gets results (what scripts read), `err` gets
// errors and progress. Progress is drawn only when `err_is_terminal`.
struct Io {
  std::ostream& out;
  std::ostream& err;
  bool err_is_terminal = false;
};

// The first 8 hex digits of a site id: how a site is shown in one-line views.
std::string ShortSite(const SiteId& site);

// An event as stored and decoded: what every view below renders.
struct EventView {
  const StoredEvent& stored;
  const Event& event;
  // Why the database holds the event out of its tables (crlog_held), or
  // null when it is folded (or there is no database).
  const std::string* held = nullptr;
};

// The `git log`-style block: "event <full id>" and one field per line, with
// a blank line after it.
void PrintEventFull(const EventView& e, std::ostream& out);
// One line: short id, kind, site:seq, lamport, time, ops, parents if a merge.
void PrintEventOneLine(const EventView& e, std::ostream& out);
// The event's rows, one per line, indented: table, pk, causal length and the
// cells (values through crlog::ValueToString). Rows that fail to decode are
// reported in place (the log's own checks make that mean damage).
void PrintEventOps(const Event& event, std::ostream& out);
// The event as a JSON object. Keys: position, hash, kind, site (null for
// imports), seq, lamport, time_micros, time, parents (full ids), ops, group
// (null, or {index (0-based), count, first: id of member 0, itself for
// member 0}), origins (imports; else empty), held (only when held).
Json EventToJson(const EventView& e);

// A single self-overwriting status line on a terminal, shown only for long
// jobs: nothing is drawn unless `enabled` and `total` >= `min_total`. Redraws
// only when the whole percentage changes.
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool enabled, std::string label, uint64_t min_total = 10000)
      : err_(err), enabled_(enabled), label_(std::move(label)), min_total_(min_total) {}
  ~ProgressLine() { Clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void Update(uint64_t done, uint64_t total);
  // Erases the line (called before anything else is printed to `err`).
  void Clear();

 private:
  std::ostream& err_;
  bool enabled_;
  std::string label_;
  uint64_t min_total_;
  bool drawn_ = false;
  int last_percent_ = -1;
};

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_OUTPUT_H_
