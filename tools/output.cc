// Rendering of times, events and progress for the crlog commands
// (tools/output.h).
#include "tools/output.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "crlog/event.h"
#include "crlog/value.h"
#include "tools/pk_text.h"

namespace crlog::tools {
namespace {

std::string JoinShort(const std::vector<Hash>& hashes) {
  return absl::StrJoin(hashes, " ", [](std::string* out, const Hash& h) {
    absl::StrAppend(out, ShortHex(h));
  });
}

// Event or site ids as a JSON array of their full hex.
template <typename Id>
Json JsonHexArray(const std::vector<Id>& ids) {
  Json array = Json::array();
  for (const Id& id : ids) array.push_back(ToHex(id));
  return array;
}

// "change", or "change (merge)" for an event with more than one parent.
std::string KindLabel(const Event& event) {
  std::string label = EventKindName(event.kind);
  if (event.parents.size() > 1) absl::StrAppend(&label, " (merge)");
  return label;
}

// The id of the group's first member (member 0 names none: it is itself).
const Hash& GroupFirst(const EventView& e) {
  return e.event.group.index == 0 ? e.stored.hash : e.event.group.first;
}

// One line about a body that is not rows (schema change, policy, ...), or "".
std::string BodySummary(const Event& event) {
  switch (event.kind) {
    case EventKind::kSchemaChange: {
      const SchemaChangeBody& b = event.schema_change;
      return absl::StrCat("table ", b.table, ": ", b.sql.empty() ? "(dropped)" : b.sql);
    }
    case EventKind::kPolicy: {
      const PolicyBody& b = event.policy;
      std::string target = b.column.empty() ? b.table : absl::StrCat(b.table, ".", b.column);
      return absl::StrCat(target, ": ", b.rule, b.argument.empty() ? "" : " ", b.argument);
    }
    case EventKind::kResolution: {
      const ResolutionBody& b = event.resolution;
      return absl::StrCat(b.action == ResolutionBody::Action::kChoose ? "choose " : "drop ",
                          JoinShort(b.subjects), " at fork ", ShortHex(b.fork),
                          b.note.empty() ? "" : ": ", b.note);
    }
    case EventKind::kCheckpoint:
      return absl::StrCat("frontier ", JoinShort(event.checkpoint.frontier));
    case EventKind::kChange:
    case EventKind::kImport:
      break;
  }
  return "";
}

}  // namespace

// Imports carry no time of their own (their content is only the changes
// accepted, so that every replica writes the same event): shown as "-".
namespace {
std::string EventTime(const Event& ev) {
  if (ev.kind == EventKind::kImport && ev.time_micros == 0) return "-";
  return FormatTime(ev.time_micros);
}
}  // namespace

std::string ShortSite(const SiteId& site) { return ToHex(site).substr(0, 8); }

void PrintEventFull(const EventView& e, std::ostream& out) {
  const Event& ev = e.event;
  out << "event " << ToHex(e.stored.hash) << "\n";
  out << "kind:     " << KindLabel(ev) << "\n";
  if (ev.is_native()) {
    out << "site:     " << ToHex(ev.site) << "\n";
    out << "seq:      " << ev.seq << "\n";
  } else {
    out << "origins:  "
        << absl::StrJoin(ev.origins, " ",
                         [](std::string* s, const SiteId& o) {
                           absl::StrAppend(s, ToHex(o));
                         })
        << "\n";
  }
  out << "lamport:  " << ev.lamport << "\n";
  out << "time:     " << EventTime(ev) << "\n";
  out << "parents:  " << (ev.parents.empty() ? "(none)" : JoinShort(ev.parents)) << "\n";
  out << "ops:      " << ev.CountOps() << "\n";
  if (ev.group.grouped()) {
    out << "group:    " << ev.group.index + 1 << " of " << ev.group.count << " (first "
        << ShortHex(GroupFirst(e)) << ")\n";
  }
  std::string summary = BodySummary(ev);
  if (!summary.empty()) out << "body:     " << summary << "\n";
  if (e.held != nullptr) out << "held:     " << *e.held << "\n";
}

void PrintEventOneLine(const EventView& e, std::ostream& out) {
  const Event& ev = e.event;
  out << ShortHex(e.stored.hash) << " " << EventKindName(ev.kind) << " ";
  if (ev.is_native()) {
    out << ShortSite(ev.site) << ":" << ev.seq;
  } else {
    out << "-";
  }
  out << " lamport " << ev.lamport << " " << EventTime(ev) << " " << ev.CountOps()
      << (ev.CountOps() == 1 ? " op" : " ops");
  if (ev.parents.size() > 1) out << " merge " << JoinShort(ev.parents);
  if (ev.group.grouped()) out << " group " << ev.group.index + 1 << "/" << ev.group.count;
  if (e.held != nullptr) out << " HELD";
  out << "\n";
}

void PrintEventOps(const Event& event, std::ostream& out) {
  // Change, import and checkpoint events keep their rows in `tables`.
  const bool with_origins = event.kind == EventKind::kImport;
  for (const TableChanges& t : event.tables) {
    absl::StatusOr<std::vector<RowOp>> rows =
        DecodeRows(t.rows, t.row_count, static_cast<uint32_t>(t.columns.size()), with_origins);
    if (!rows.ok()) {
      out << "    " << t.table << ": rows do not decode: " << rows.status().message() << "\n";
      continue;
    }
    for (const RowOp& row : *rows) {
      out << "    " << t.table << " " << PkToString(row.pk);
      bool alive = row.causal_length % 2 == 1;
      out << (alive ? " alive" : " deleted") << " (cl " << row.causal_length << ")";
      for (size_t i = 0; i < row.cells.size(); ++i) {
        const CellOp& c = row.cells[i];
        out << (i == 0 ? ": " : ", ") << t.columns[c.column] << "=" << ValueToString(c.value)
            << " (v" << c.version;
        if (with_origins && c.origin < event.origins.size()) {
          out << " from " << ShortSite(event.origins[c.origin]);
        }
        out << ")";
      }
      out << "\n";
    }
  }
}

Json EventToJson(const EventView& e) {
  const Event& ev = e.event;
  Json json;
  json["position"] = e.stored.position;
  json["hash"] = ToHex(e.stored.hash);
  json["kind"] = EventKindName(ev.kind);
  json["site"] = ev.is_native() ? Json(ToHex(ev.site)) : Json();
  json["seq"] = ev.seq;
  json["lamport"] = ev.lamport;
  json["time_micros"] = ev.time_micros;
  json["time"] = FormatTime(ev.time_micros);
  json["parents"] = JsonHexArray(ev.parents);
  json["ops"] = ev.CountOps();
  json["group"] = ev.group.grouped()
                     ? Json{{"index", ev.group.index}, {"count", ev.group.count}, {"first", ToHex(GroupFirst(e))}}
                     : Json();
  json["origins"] = JsonHexArray(ev.origins);
  if (e.held != nullptr) json["held"] = JsonText(*e.held);
  return json;
}

void ProgressLine::Update(uint64_t done, uint64_t total) {
  if (!enabled_ || total < min_total_) return;
  int percent = static_cast<int>(done * 100 / total);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  err_ << "\r" << label_ << ": " << done << "/" << total << " events (" << percent << "%)"
       << std::flush;
  drawn_ = true;
}

void ProgressLine::Clear() {
  if (!drawn_) return;
  err_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
  last_percent_ = -1;
}

}  // namespace crlog::tools
