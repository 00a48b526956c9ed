#include "engine/fold/import_split.h"

#include <algorithm>
#include <string>
#include <utility>

#include "log/row_codec.h"

namespace crlog::engine {

absl::StatusOr<std::vector<log::Event>> SplitImport(log::Event import, size_t max_rows_bytes) {
  size_t total = 0;
  for (const log::TableChanges& t : import.tables) total += t.rows.size();
  std::vector<log::Event> members;
  if (total <= max_rows_bytes) {
    members.push_back(std::move(import));
    return members;
  }
  auto new_member = [&]() -> log::Event& {
    log::Event& m = members.emplace_back();
    m.kind = log::EventKind::kImport;
    m.lamport = import.lamport;
    m.time_micros = import.time_micros;
    m.origins = import.origins;
    return m;
  };
  new_member();
  size_t member_bytes = 0;
  for (const log::TableChanges& t : import.tables) {
    log::RowsWriter rows(/*with_origins=*/true);
    std::vector<std::string> entries;
    auto finish_table = [&] {
      if (rows.row_count() == 0) return;
      member_bytes += rows.size();
      members.back().tables.push_back({t.table, t.columns, rows.row_count(), rows.Release(), std::move(entries)});
      entries.clear();
    };
    log::RowsReader reader(t.rows, /*with_origins=*/true);
    log::RowOp row;
    while (!reader.done()) {
      if (absl::Status s = reader.Next(static_cast<uint32_t>(t.columns.size()), &row); !s.ok()) return s;
      const size_t before = rows.size();
      const uint32_t count = rows.row_count();
      rows.AddRow(row);
      if (member_bytes + rows.size() > max_rows_bytes && member_bytes + before > 0) {
        // The row goes to the next member: this one is full.
        rows.Truncate(before, count);
        finish_table();
        new_member();
        member_bytes = 0;
        rows.AddRow(row);
      }
      if (t.HasEntry(row.pk)) entries.push_back(row.pk);
    }
    finish_table();
  }
  if (members.back().tables.empty()) members.pop_back();
  for (size_t i = 0; i < members.size() && members.size() > 1; ++i) {
    members[i].group.index = static_cast<uint32_t>(i);
    members[i].group.count = static_cast<uint32_t>(members.size());
  }
  return members;
}

}  // namespace crlog::engine
