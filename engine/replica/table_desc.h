// What the engine needs to know about one replicated table.
#ifndef CRLOG_ENGINE_REPLICA_TABLE_DESC_H_
#define CRLOG_ENGINE_REPLICA_TABLE_DESC_H_

#include <cstdint>
#include <string>
#include <vector>

namespace crlog::engine {

struct TableDesc {
  int64_t id = 0;                        // crlog_tables.id, the key prefix in crlog_clock
  std::string name;
  std::vector<std::string> pk_columns;   // pk order
  std::vector<std::string> columns;      // non-pk, table order; cells index into this
  std::string create_sql;
  // The columns crlog_tables recorded when capture was last set up for the
  // table (crsql_as_crr, crsql_commit_alter); `shape_recorded` is false in
  // a database older than the record, which then goes unchecked.
  bool shape_recorded = false;
  std::vector<std::string> recorded_pk, recorded_columns;
  // ALTER TABLE ran on it outside crsql_begin_alter / crsql_commit_alter
  // (ADD or RENAME COLUMN; DROP COLUMN fails on crlog's triggers).
  bool AlteredBehindCrlog() const {
    return shape_recorded && (recorded_pk != pk_columns || recorded_columns != columns);
  }
  // Index of a non-pk column by name, or -1.
  int ColumnIndex(std::string_view column) const {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == column) return static_cast<int>(i);
    }
    return -1;
  }
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_REPLICA_TABLE_DESC_H_
