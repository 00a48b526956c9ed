// The crash tests' VFS (tests/crash/test_vfs.h). Each open file is the
// wrapper's header followed by the real VFS's file; every method forwards to
// the real file, after reporting to the observer and failing when armed.
#include "tests/crash/test_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>

namespace crlog::crash {
namespace {

struct TestFile {
  sqlite3_file base;  // must be first
  sqlite3_file* real;
  bool watched;
  bool database;
};

std::atomic<int> g_fault{static_cast<int>(Fault::kNone)};
std::atomic<int> g_injected{0};
void (*g_observer)(char) = nullptr;
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<TestFile*>(f)->real; }
bool Armed(sqlite3_file* f, Fault fault) {
  auto* file = reinterpret_cast<TestFile*>(f);
  const int armed = g_fault.load();
  if (fault == Fault::kWrite && file->database && armed == static_cast<int>(Fault::kDatabaseWrite)) return true;
  return file->watched && armed == static_cast<int>(fault);
}

int Close(sqlite3_file* f) {
  int rc = Real(f)->pMethods->xClose(Real(f));
  f->pMethods = nullptr;
  return rc;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
void Observe(sqlite3_file* f, char op) {
  if (g_observer != nullptr && reinterpret_cast<TestFile*>(f)->watched) g_observer(op);
}

int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  Observe(f, 'w');
  if (Armed(f, Fault::kWrite)) {
    ++g_injected;
    return SQLITE_IOERR_WRITE;
  }
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) { return Real(f)->pMethods->xTruncate(Real(f), size); }
int Sync(sqlite3_file* f, int flags) {
  Observe(f, 's');
  if (Armed(f, Fault::kSync)) {
    ++g_injected;
    return SQLITE_IOERR_FSYNC;
  }
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) { return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return Real(f)->pMethods->xUnfetch(Real(f), off, p); }

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = reinterpret_cast<TestFile*>(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->watched = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL)) != 0;
  f->database = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  f->base.pMethods = nullptr;
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (f->real->pMethods != nullptr) f->base.pMethods = &g_methods;
  return rc;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  if (g_observer != nullptr) g_observer('d');  // SQLite deletes only journals, WALs and temporary files
  return g_real->xDelete(g_real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* sym))(void) { return g_real->xDlSym(g_real, handle, sym); }
void DlClose(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int Sleep(sqlite3_vfs*, int micros) { return g_real->xSleep(g_real, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) { return g_real->xCurrentTimeInt64(g_real, out); }

}  // namespace

void RegisterTestVfs() {
  if (g_real != nullptr) return;
  g_real = sqlite3_vfs_find("unix");
  if (g_real == nullptr || g_real->iVersion < 2) std::abort();
  g_methods = sqlite3_io_methods{/*iVersion=*/3,
                                 Close,
                                 Read,
                                 Write,
                                 Truncate,
                                 Sync,
                                 FileSize,
                                 Lock,
                                 Unlock,
                                 CheckReservedLock,
                                 FileControl,
                                 SectorSize,
                                 DeviceCharacteristics,
                                 ShmMap,
                                 ShmLock,
                                 ShmBarrier,
                                 ShmUnmap,
                                 Fetch,
                                 Unfetch};
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(sizeof(TestFile)) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = kTestVfs;
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) std::abort();
}

void SetFault(Fault fault) {
  g_injected = 0;
  g_fault = static_cast<int>(fault);
}

int InjectedFaults() { return g_injected.load(); }

void SetIoObserver(void (*observer)(char op)) { g_observer = observer; }

}  // namespace crlog::crash
