// SQL functions called with their connection's SQLite routines current
// (extension/entry.h).
#include "extension/entry.h"

#include "extension/connection.h"

namespace crlog::extension {
namespace {

// What a function registered by CreateFunction carries as user data.
struct FunctionEntry {
  Connection* conn;
  SqlFunction fn;
  void (*destroy)(void*);
};

// One trampoline per slot: the slot, not the user data, says which SQLite's
// routines to use, since reading the user data already takes a routine.
template <int Slot>
void Dispatch(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  sqlite::ApiScope scope(Slot);
  static_cast<FunctionEntry*>(sqlite3_user_data(ctx))->fn(ctx, argc, argv);
}

SqlFunction DispatchFor(int slot) {
  switch (slot) {
    case 0: return &Dispatch<0>;
    case 1: return &Dispatch<1>;
    case 2: return &Dispatch<2>;
    default: return &Dispatch<3>;
  }
}

void DestroyEntry(void* p) {
  auto* entry = static_cast<FunctionEntry*>(p);
  if (entry->destroy) {
    sqlite::ApiScope scope(entry->conn->api_slot);
    entry->destroy(entry->conn);
  }
  delete entry;
}

}  // namespace

int CreateFunction(sqlite3* db, Connection* conn, const char* name, int argc, int flags, SqlFunction fn,
                   void (*destroy)(void*)) {
  auto* entry = new FunctionEntry{conn, fn, destroy};
  // On failure SQLite calls the destructor itself.
  return sqlite3_create_function_v2(db, name, argc, flags, entry, DispatchFor(conn->api_slot), nullptr, nullptr,
                                    DestroyEntry);
}

Connection* Conn(sqlite3_context* ctx) { return static_cast<FunctionEntry*>(sqlite3_user_data(ctx))->conn; }

}  // namespace crlog::extension
