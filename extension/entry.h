// Entry points from SQLite into the extension. SQLite calls crlog back
// through SQL functions, virtual-table methods and hooks; each call must run
// with the routines of the SQLite that owns the connection current
// (util/sqlite/api.h), since a process may hold two SQLite copies. These
// helpers wrap every callback crlog registers so that it does.
#ifndef CRLOG_EXTENSION_ENTRY_H_
#define CRLOG_EXTENSION_ENTRY_H_

#include "util/sqlite/api.h"

namespace crlog::extension {

struct Connection;

using SqlFunction = void (*)(sqlite3_context*, int, sqlite3_value**);

// sqlite3_create_function_v2 for `conn`, with `fn` called inside an
// ApiScope of the connection's SQLite. `destroy` (may be null) runs when
// SQLite drops the function, with `conn`.
int CreateFunction(sqlite3* db, Connection* conn, const char* name, int argc, int flags, SqlFunction fn,
                   void (*destroy)(void*) = nullptr);

// The connection a function registered by CreateFunction belongs to.
Connection* Conn(sqlite3_context* ctx);

// `module` with every method wrapped in an ApiScope of `slot`'s SQLite.
// The result lives as long as the process.
template <const sqlite3_module* M>
const sqlite3_module* ScopedModule(int slot);

namespace internal {

template <typename F>
struct Thunk;
template <typename R, typename... A>
struct Thunk<R (*)(A...)> {
  template <int Slot, const sqlite3_module* M, auto Member>
  static R Call(A... a) {
    sqlite::ApiScope scope(Slot);
    return (M->*Member)(a...);
  }
};

template <int Slot, const sqlite3_module* M>
sqlite3_module Wrap() {
  sqlite3_module w = *M;
#define CRLOG_WRAP(member)                                                                     \
  if (M->member) {                                                                             \
    w.member = &Thunk<decltype(sqlite3_module::member)>::template Call<Slot, M, &sqlite3_module::member>; \
  }
  CRLOG_WRAP(xCreate)
  CRLOG_WRAP(xConnect)
  CRLOG_WRAP(xBestIndex)
  CRLOG_WRAP(xDisconnect)
  CRLOG_WRAP(xDestroy)
  CRLOG_WRAP(xOpen)
  CRLOG_WRAP(xClose)
  CRLOG_WRAP(xFilter)
  CRLOG_WRAP(xNext)
  CRLOG_WRAP(xEof)
  CRLOG_WRAP(xColumn)
  CRLOG_WRAP(xRowid)
  CRLOG_WRAP(xUpdate)
  CRLOG_WRAP(xBegin)
  CRLOG_WRAP(xSync)
  CRLOG_WRAP(xCommit)
  CRLOG_WRAP(xRollback)
  CRLOG_WRAP(xFindFunction)
  CRLOG_WRAP(xRename)
  CRLOG_WRAP(xSavepoint)
  CRLOG_WRAP(xRelease)
  CRLOG_WRAP(xRollbackTo)
#undef CRLOG_WRAP
  return w;
}

}  // namespace internal

template <const sqlite3_module* M>
const sqlite3_module* ScopedModule(int slot) {
  static_assert(sqlite::kMaxApis == 4, "one wrapped module per slot");
  static const sqlite3_module wrapped[] = {internal::Wrap<0, M>(), internal::Wrap<1, M>(),
                                           internal::Wrap<2, M>(), internal::Wrap<3, M>()};
  return &wrapped[slot];
}

}  // namespace crlog::extension

#endif  // CRLOG_EXTENSION_ENTRY_H_
