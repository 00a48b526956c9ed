// A small reference model of cr-sqlite's replication rules
// (../shared/crsql-compat.md), written independently of crlog's merge/ and
// engine/ so that the convergence tests can say what every replica must hold.
//
// One ModelReplica is one database: per row its causal length (odd = alive,
// even = deleted), its existence entry ('-1'), and per cell the column
// version, value and writing site. Local writes follow cr-sqlite's local
// rules; INSERT INTO crsql_changes follows the compat doc's merge rule. The
// model also numbers its own transactions (db_version) so it can say which
// changes a `WHERE db_version > :last` sync sends: its numbers are not
// crlog's, but they order the same writes the same way.
#ifndef CRLOG_TESTS_CONVERGENCE_REFERENCE_MODEL_H_
#define CRLOG_TESTS_CONVERGENCE_REFERENCE_MODEL_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "crlog/value.h"

namespace crlog::convergence {

// A replicated table: its pk columns and its other columns, in order.
struct TableDef {
  std::string name;
  std::vector<std::string> pk;
  std::vector<std::string> cols;
};

// One row of crsql_changes.
struct Change {
  std::string table;
  std::string pk;   // packed
  std::string cid;  // column, or "-1"
  Value val;
  int64_t col_version = 0;
  int64_t db_version = 0;
  std::string site;  // 16 bytes
  int64_t cl = 0;
  int64_t seq = 0;
};

// cr-sqlite's order of values for equal column versions: any INTEGER > any
// REAL > any TEXT > any BLOB > NULL; numbers numerically, text and blobs
// bytewise. <0, 0, >0.
int CompareValues(const Value& a, const Value& b);

// Live rows: table -> packed pk -> non-pk values in column order.
using Tables = std::map<std::string, std::map<std::string, std::vector<Value>>>;

class ModelReplica {
 public:
  ModelReplica(std::vector<TableDef> tables, std::string site);

  const std::string& site() const { return site_; }
  // cr-sqlite's 'merge-equal-values' setting: with it, of two equal values
  // at the same col_version the one from the bytewise greater site wins.
  void set_merge_equal_values(bool on) { merge_equal_values_ = on; }
  const TableDef& table(const std::string& name) const;

  // --- Reads ---------------------------------------------------------------
  bool Alive(const std::string& table, const std::string& pk) const;
  // Packed pks of the live rows of `table`, in packed order.
  std::vector<std::string> AlivePks(const std::string& table) const;
  // The non-pk values of a live row as SQLite holds them (a column no write
  // reached is NULL, its default).
  std::vector<Value> RowValues(const std::string& table, const std::string& pk) const;
  Tables LiveTables() const;
  // crsql_changes with db_version > `since`, without rows whose site is
  // `exclude_site` (none when empty), in (db_version, seq) order.
  std::vector<Change> Changes(int64_t since, const std::string& exclude_site = "") const;

  // --- Transactions --------------------------------------------------------
  // Every write happens between Begin() and Commit(). Commit() gives every
  // entry the transaction changed the next db_version and returns whether
  // there was any.
  void Begin();
  bool Commit();

  // --- Local writes (cr-sqlite's triggers) ----------------------------------
  // A row that is not alive comes (back) to life: cl+1 (odd), every column
  // written at col_version 1.
  // `with_entry`: the row gets an existence entry even in its first life
  // (the new key of a pk move).
  void LocalInsert(const std::string& table, const std::string& pk, const std::vector<Value>& vals,
                   bool with_entry = false);
  // INSERT OR REPLACE over a live row (recursive_triggers off): the row keeps
  // its causal length and every column is written again, col_version+1,
  // changed or not.
  void LocalReplace(const std::string& table, const std::string& pk, const std::vector<Value>& vals);
  // UPDATE of one cell of a live row: col_version+1 only when the value
  // changes (type and content).
  void LocalUpdate(const std::string& table, const std::string& pk, const std::string& col,
                   const Value& val);
  // UPDATE of a live row's pk to a key no live row has: the old row is
  // deleted, the new one comes to life with an existence entry, and its
  // cells keep their column versions (cr-sqlite moves their clocks).
  void LocalMovePk(const std::string& table, const std::string& from, const std::string& to);
  // DELETE of a live row: cl+1 (even), its cells gone.
  void LocalDelete(const std::string& table, const std::string& pk);

  // --- Merge (INSERT INTO crsql_changes) ------------------------------------
  // Applies one incoming change; true when it changed something (what
  // crsql_rows_impacted() counts).
  bool Merge(const Change& c);

 private:
  struct Clock {
    int64_t db_version = 0;
    int64_t seq = 0;
  };
  struct Cell {
    int64_t col_version = 0;
    Value val;
    std::string site;
    Clock clock;
  };
  struct Row {
    int64_t cl = 0;  // 0: never seen
    // The first life (cl 1) has an existence entry: the new key of a pk
    // move, or a '-1' change with cl 1 merged alone.
    bool first_life_entry = false;
    std::string sentinel_site;
    Clock sentinel_clock;
    std::map<std::string, Cell> cells;  // non-pk column -> cell
  };
  using Key = std::pair<std::string, std::string>;  // (table, packed pk)

  bool AllPk(const std::string& table) const { return table_def(table).cols.empty(); }
  const TableDef& table_def(const std::string& table) const;
  bool HasSentinel(const std::string& table, const Row& row) const;
  Row& RowFor(const std::string& table, const std::string& pk) { return rows_[{table, pk}]; }
  const Row* FindRow(const std::string& table, const std::string& pk) const;
  // cl -> `cl`, the other cells keep their values but lose their versions.
  void Resurrect(const Key& key, Row& row, int64_t cl, const std::string& site);
  void Touch(const Key& key, const std::string& cid);

  std::vector<TableDef> tables_;
  std::string site_;
  int64_t db_version_ = 0;
  std::map<Key, Row> rows_;
  bool merge_equal_values_ = false;
  bool in_txn_ = false;
  std::vector<std::tuple<std::string, std::string, std::string>> touched_;  // (table, pk, cid) in order
};

}  // namespace crlog::convergence

#endif  // CRLOG_TESTS_CONVERGENCE_REFERENCE_MODEL_H_
