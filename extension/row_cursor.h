// The cursor of crlog's read-only virtual tables (crlog_blame,
// crlog_cell_history, crlog_events, crlog_ops, and the read side of
// crsql_changes). Each materialises the rows of a scan in xFilter and serves
// them from memory, so nothing of the log or the database stays open between
// SQLite's calls. The tables keep their own xBestIndex, the filling of the
// rows, and xColumn (what a column of a row is); this gives the rest of the
// cursor methods.
#ifndef CRLOG_EXTENSION_ROW_CURSOR_H_
#define CRLOG_EXTENSION_ROW_CURSOR_H_

#include "util/sqlite/api.h"

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "extension/connection.h"

namespace crlog::extension {

template <typename Row>
struct RowCursor {
  sqlite3_vtab_cursor base{};  // first: SQLite's cursor pointer is this one's
  std::vector<Row> rows;
  size_t at = 0;

  static RowCursor* Of(sqlite3_vtab_cursor* cur) { return reinterpret_cast<RowCursor*>(cur); }
  // The row xColumn reads: only called between a successful xFilter and
  // xEof reporting the end.
  const Row& row() const { return rows[at]; }

  // xFilter's work: drops the previous scan's rows and lets `fill` (a
  // callable taking std::vector<Row>* and returning absl::Status) add this
  // scan's. On error the cursor is left empty and the status becomes the
  // table's error message and result code. Running out of memory while
  // filling is SQLITE_NOMEM: no exception crosses into SQLite.
  template <typename Fill>
  static int Filter(sqlite3_vtab_cursor* cur, Fill&& fill) {
    RowCursor* c = Of(cur);
    c->rows.clear();
    c->at = 0;
    absl::Status s;
    try {
      s = std::forward<Fill>(fill)(&c->rows);
    } catch (const std::bad_alloc&) {
      c->rows.clear();
      return SQLITE_NOMEM;
    }
    if (!s.ok()) {
      c->rows.clear();
      return VtabError(cur->pVtab, s);
    }
    return SQLITE_OK;
  }

  // --- The module's cursor methods, in the order SQLite calls them -------
  // xOpen: a cursor with no rows until xFilter.
  static int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
    auto* c = new (std::nothrow) RowCursor();
    if (c == nullptr) return SQLITE_NOMEM;
    *out = &c->base;
    return SQLITE_OK;
  }
  static int Next(sqlite3_vtab_cursor* cur) {
    ++Of(cur)->at;
    return SQLITE_OK;
  }
  static int Eof(sqlite3_vtab_cursor* cur) {
    RowCursor* c = Of(cur);
    return c->at >= c->rows.size();
  }
  // The rowid is the row's place in the scan: the tables have no key of
  // their own that fits in an integer.
  static int Rowid(sqlite3_vtab_cursor* cur, sqlite3_int64* rowid) {
    *rowid = static_cast<sqlite3_int64>(Of(cur)->at);
    return SQLITE_OK;
  }
  static int Close(sqlite3_vtab_cursor* cur) {
    delete Of(cur);
    return SQLITE_OK;
  }

  // Sets `m`'s xOpen, xNext, xEof, xRowid and xClose to these.
  static void Install(sqlite3_module& m) {
    m.xOpen = Open;
    m.xNext = Next;
    m.xEof = Eof;
    m.xRowid = Rowid;
    m.xClose = Close;
  }

  // The module of an eponymous read-only table served by this cursor: no
  // xCreate (eponymous only), Disconnect also destroys, no writes.
  using Connect = int (*)(sqlite3*, void*, int, const char* const*, sqlite3_vtab**, char**);
  static sqlite3_module ReadOnlyModule(Connect connect, int (*best_index)(sqlite3_vtab*, sqlite3_index_info*),
                                       int (*disconnect)(sqlite3_vtab*),
                                       int (*filter)(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**),
                                       int (*column)(sqlite3_vtab_cursor*, sqlite3_context*, int)) {
    sqlite3_module m{};
    m.xConnect = connect;
    m.xBestIndex = best_index;
    m.xDisconnect = disconnect;
    m.xDestroy = disconnect;
    Install(m);
    m.xFilter = filter;
    m.xColumn = column;
    return m;
  }
};

}  // namespace crlog::extension

#endif  // CRLOG_EXTENSION_ROW_CURSOR_H_
