// How `crlog log --ops` shows old -> new (tools/op_changes.h).
#include "tools/op_changes.h"

#include "absl/strings/str_cat.h"
#include "tools/history_view.h"
#include "tools/output.h"
#include "tools/pk_text.h"

namespace crlog::tools {
namespace {

std::string RowName(const OpChange& c) { return absl::StrCat(c.table, " ", PkTuple(c.pk)); }

}  // namespace

void PrintOpChanges(const std::vector<OpChange>& changes, std::ostream& out) {
  for (const OpChange& c : changes) {
    out << "    " << RowName(c);
    switch (c.kind) {
      case OpChange::Kind::kSkipped:
        out << " skipped: table '" << c.table << "' is not replicated here at this point\n";
        break;
      case OpChange::Kind::kInsert:
      case OpChange::Kind::kResurrect:
        out << (c.kind == OpChange::Kind::kInsert ? " inserted" : " resurrected")
            << (c.lost ? " (lost: a concurrent delete keeps the row deleted)" : "") << "\n";
        break;
      case OpChange::Kind::kDelete:
        out << " deleted";
        if (c.lost) {
          out << " (lost: a concurrent write keeps the row alive)";
        } else if (c.already_deleted && c.known) {
          out << " (it was deleted already)";
        }
        out << "\n";
        break;
      case OpChange::Kind::kCell:
        out << " " << c.column << ": "
            << (c.known ? (c.old_value ? ValueToString(*c.old_value) : "(none)") : "?") << " -> "
            << ValueToString(c.new_value);
        if (c.unknown_column) {
          out << " (the table has no such column here: kept for when an alter adds it)";
        } else if (c.lost) {
          out << (c.now ? absl::StrCat(" (lost to a concurrent write; the cell holds ", ValueToString(*c.now), ")")
                        : " (lost: the row is deleted)");
        }
        out << "\n";
        break;
    }
  }
}

Json OpChangesToJson(const std::vector<OpChange>& changes) {
  Json array = Json::array();
  for (const OpChange& c : changes) {
    Json item;
    item["table"] = JsonText(c.table);
    item["pk"] = PkToJson(c.pk);
    item["column"] = c.kind == OpChange::Kind::kCell ? JsonText(c.column) : Json();
    switch (c.kind) {
      case OpChange::Kind::kInsert: item["change"] = "insert"; break;
      case OpChange::Kind::kResurrect: item["change"] = "resurrect"; break;
      case OpChange::Kind::kDelete: item["change"] = "delete"; break;
      case OpChange::Kind::kSkipped: item["change"] = "skipped"; break;
      case OpChange::Kind::kCell:
        item["change"] = "set";
        if (c.old_value) item["old"] = ValueToJson(*c.old_value);
        item["new"] = ValueToJson(c.new_value);
        break;
    }
    if (c.known) {
      item["lost"] = c.lost;
      if (c.now) item["now"] = ValueToJson(*c.now);
    }
    array.push_back(std::move(item));
  }
  return array;
}

}  // namespace crlog::tools
