// The reference model of cr-sqlite's rules (reference_model.h).
#include "tests/convergence/reference_model.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace crlog::convergence {
namespace {

int TypeRank(ValueType t) {
  switch (t) {
    case ValueType::kInteger: return 4;
    case ValueType::kReal: return 3;
    case ValueType::kText: return 2;
    case ValueType::kBlob: return 1;
    case ValueType::kNull: return 0;
  }
  return 0;
}

int Bytewise(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

}  // namespace

int CompareValues(const Value& a, const Value& b) {
  int ra = TypeRank(a.type), rb = TypeRank(b.type);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type) {
    case ValueType::kInteger: return a.integer < b.integer ? -1 : a.integer > b.integer ? 1 : 0;
    case ValueType::kReal: return a.real < b.real ? -1 : a.real > b.real ? 1 : 0;
    case ValueType::kText:
    case ValueType::kBlob: return Bytewise(a.bytes, b.bytes);
    case ValueType::kNull: return 0;
  }
  return 0;
}

ModelReplica::ModelReplica(std::vector<TableDef> tables, std::string site)
    : tables_(std::move(tables)), site_(std::move(site)) {}

const TableDef& ModelReplica::table(const std::string& name) const { return table_def(name); }

const TableDef& ModelReplica::table_def(const std::string& name) const {
  for (const TableDef& t : tables_) {
    if (t.name == name) return t;
  }
  throw std::logic_error("model: unknown table " + name);
}

bool ModelReplica::HasSentinel(const std::string& table, const Row& row) const {
  // The existence entry records a causal length the cells cannot imply: any
  // row that has been deleted, and every row of an all-pk table.
  // cr-sqlite also writes one for a first life in two cases: the new key of
  // a pk move, and a '-1' change with cl 1 merged alone.
  return row.cl >= 2 || (row.cl == 1 && (AllPk(table) || row.first_life_entry));
}

const ModelReplica::Row* ModelReplica::FindRow(const std::string& table, const std::string& pk) const {
  auto it = rows_.find({table, pk});
  return it == rows_.end() ? nullptr : &it->second;
}

bool ModelReplica::Alive(const std::string& table, const std::string& pk) const {
  const Row* row = FindRow(table, pk);
  return row != nullptr && row->cl % 2 == 1;
}

std::vector<std::string> ModelReplica::AlivePks(const std::string& table) const {
  std::vector<std::string> out;
  for (const auto& [key, row] : rows_) {
    if (key.first == table && row.cl % 2 == 1) out.push_back(key.second);
  }
  return out;
}

std::vector<Value> ModelReplica::RowValues(const std::string& table, const std::string& pk) const {
  const TableDef& def = table_def(table);
  std::vector<Value> out(def.cols.size());
  const Row* row = FindRow(table, pk);
  if (row == nullptr) return out;
  for (size_t i = 0; i < def.cols.size(); ++i) {
    auto it = row->cells.find(def.cols[i]);
    if (it != row->cells.end()) out[i] = it->second.val;
  }
  return out;
}

Tables ModelReplica::LiveTables() const {
  Tables out;
  for (const TableDef& t : tables_) out[t.name];
  for (const auto& [key, row] : rows_) {
    if (row.cl % 2 == 1) out[key.first][key.second] = RowValues(key.first, key.second);
  }
  return out;
}

std::vector<Change> ModelReplica::Changes(int64_t since, const std::string& exclude_site) const {
  std::vector<Change> out;
  for (const auto& [key, row] : rows_) {
    if (HasSentinel(key.first, row) && row.sentinel_clock.db_version > since &&
        row.sentinel_site != exclude_site) {
      out.push_back(Change{key.first, key.second, "-1", Value::Null(), row.cl,
                           row.sentinel_clock.db_version, row.sentinel_site, row.cl,
                           row.sentinel_clock.seq});
    }
    for (const auto& [cid, cell] : row.cells) {
      if (cell.clock.db_version <= since || cell.site == exclude_site) continue;
      out.push_back(Change{key.first, key.second, cid, cell.val, cell.col_version, cell.clock.db_version,
                           cell.site, row.cl, cell.clock.seq});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Change& a, const Change& b) {
    return std::tie(a.db_version, a.seq) < std::tie(b.db_version, b.seq);
  });
  return out;
}

// --- Transactions -------------------------------------------------------------

void ModelReplica::Begin() {
  if (in_txn_) throw std::logic_error("model: nested transaction");
  in_txn_ = true;
  touched_.clear();
}

bool ModelReplica::Commit() {
  if (!in_txn_) throw std::logic_error("model: commit outside a transaction");
  in_txn_ = false;
  if (touched_.empty()) return false;
  ++db_version_;
  int64_t seq = 0;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& t : touched_) {
    if (!seen.insert(t).second) continue;
    auto it = rows_.find({std::get<0>(t), std::get<1>(t)});
    if (it == rows_.end()) continue;
    Row& row = it->second;
    const std::string& cid = std::get<2>(t);
    if (cid == "-1") {
      row.sentinel_clock = Clock{db_version_, seq++};
    } else if (auto c = row.cells.find(cid); c != row.cells.end()) {
      c->second.clock = Clock{db_version_, seq++};
    }
  }
  touched_.clear();
  return true;
}

void ModelReplica::Touch(const Key& key, const std::string& cid) {
  if (!in_txn_) throw std::logic_error("model: write outside a transaction");
  touched_.emplace_back(key.first, key.second, cid);
}

// --- Local writes ----------------------------------------------------------------

void ModelReplica::LocalInsert(const std::string& table, const std::string& pk,
                               const std::vector<Value>& vals, bool with_entry) {
  const TableDef& def = table_def(table);
  Key key{table, pk};
  Row& row = RowFor(table, pk);
  if (row.cl % 2 == 1) throw std::logic_error("model: insert over a live row");
  row.cl += 1;
  row.cells.clear();
  row.first_life_entry = with_entry && row.cl == 1;
  if (HasSentinel(table, row)) {
    row.sentinel_site = site_;
    Touch(key, "-1");
  }
  for (size_t i = 0; i < def.cols.size(); ++i) {
    row.cells[def.cols[i]] = Cell{1, vals.at(i), site_, {}};
    Touch(key, def.cols[i]);
  }
}

void ModelReplica::LocalReplace(const std::string& table, const std::string& pk,
                                const std::vector<Value>& vals) {
  const TableDef& def = table_def(table);
  Key key{table, pk};
  Row& row = RowFor(table, pk);
  if (row.cl % 2 == 0) throw std::logic_error("model: replace of a row that is not alive");
  for (size_t i = 0; i < def.cols.size(); ++i) {
    Cell& cell = row.cells[def.cols[i]];  // a cell never written starts at version 0
    cell.col_version += 1;
    cell.val = vals.at(i);
    cell.site = site_;
    Touch(key, def.cols[i]);
  }
}

void ModelReplica::LocalUpdate(const std::string& table, const std::string& pk, const std::string& col,
                               const Value& val) {
  Key key{table, pk};
  Row& row = RowFor(table, pk);
  if (row.cl % 2 == 0) throw std::logic_error("model: update of a row that is not alive");
  auto it = row.cells.find(col);
  Value current = it == row.cells.end() ? Value::Null() : it->second.val;
  if (current == val) return;  // same type and content: cr-sqlite leaves the cell alone
  Cell& cell = row.cells[col];
  cell.col_version += 1;
  cell.val = val;
  cell.site = site_;
  Touch(key, col);
}

void ModelReplica::LocalMovePk(const std::string& table, const std::string& from, const std::string& to) {
  const TableDef& def = table_def(table);
  std::map<std::string, Cell> moved = RowFor(table, from).cells;
  std::vector<Value> vals = RowValues(table, from);
  LocalDelete(table, from);
  LocalInsert(table, to, vals, /*with_entry=*/true);
  Row& row = RowFor(table, to);
  for (const std::string& col : def.cols) {
    auto it = moved.find(col);
    if (it != moved.end() && it->second.col_version > 0) row.cells[col].col_version = it->second.col_version;
  }
}

void ModelReplica::LocalDelete(const std::string& table, const std::string& pk) {
  Key key{table, pk};
  Row& row = RowFor(table, pk);
  if (row.cl % 2 == 0) throw std::logic_error("model: delete of a row that is not alive");
  row.cl += 1;
  row.cells.clear();
  row.sentinel_site = site_;
  Touch(key, "-1");
}

// --- Merge ------------------------------------------------------------------------

void ModelReplica::Resurrect(const Key& key, Row& row, int64_t cl, const std::string& site) {
  row.cl = cl;
  for (auto& [cid, cell] : row.cells) cell.col_version = 0;
  if (HasSentinel(key.first, row)) {
    row.sentinel_site = site;
    Touch(key, "-1");
  }
}

bool ModelReplica::Merge(const Change& c) {
  Key key{c.table, c.pk};
  Row& row = rows_[key];
  // 1. Older causal length: ignored.
  if (c.cl < row.cl) return false;
  // 2. Even: a delete. Equal: nothing to do; larger: the row goes.
  if (c.cl % 2 == 0) {
    if (c.cl == row.cl) return false;
    row.cl = c.cl;
    row.cells.clear();
    row.sentinel_site = c.site;
    Touch(key, "-1");
    return true;
  }
  // 3. Odd and larger: back to life; the other cells lose their versions and
  //    the incoming cell wins.
  if (c.cid == "-1") {
    if (c.cl == row.cl) {
      // A first life takes a first-life entry it lacks, so the listing
      // converges (cr-sqlite ignores it).
      if (c.cl != 1 || row.first_life_entry || AllPk(c.table)) return false;
      row.first_life_entry = true;
      row.sentinel_site = c.site;
      Touch(key, "-1");
      return true;
    }
    row.first_life_entry = c.cl == 1;
    Resurrect(key, row, c.cl, c.site);
    return true;
  }
  if (c.cl > row.cl) {
    row.first_life_entry = false;
    Resurrect(key, row, c.cl, c.site);
  } else if (auto it = row.cells.find(c.cid); it != row.cells.end()) {
    // 4. Equal cl: the higher col_version wins; 5. then the greater value;
    //    equal values change nothing, unless merge-equal-values is on and
    //    the incoming site is bytewise greater.
    const Cell& local = it->second;
    if (c.col_version < local.col_version) return false;
    if (c.col_version == local.col_version) {
      int cmp = CompareValues(c.val, local.val);
      if (cmp < 0) return false;
      if (cmp == 0 && !(merge_equal_values_ && Bytewise(c.site, local.site) > 0)) return false;
    }
  }
  Cell& cell = row.cells[c.cid];
  cell.col_version = c.col_version;
  cell.val = c.val;
  cell.site = c.site;
  Touch(key, c.cid);
  return true;
}

}  // namespace crlog::convergence
