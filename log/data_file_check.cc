// The check, on open, that data.mdb holds every page LMDB says it uses: a
// shorter file would be read past its end through the map, which kills the
// process with SIGBUS (log/store.cc calls it before any read).
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "log/store_internal.h"

namespace crlog::log {
namespace {

// A read through the map past the end of data.mdb raises SIGBUS. The walk
// below runs only on a data file shorter than LMDB's last page, and catches
// it on its own thread (one walk at a time); any other SIGBUS gets the
// default action. Process globals, not thread_local: a thread_local in a
// dlopened library lives in dynamic TLS, which this toolchain's
// LeakSanitizer can crash scanning at exit ("Tracer caught signal 11").
std::mutex bus_walk_mu;
sigjmp_buf* bus_jump = nullptr;
std::atomic<pid_t> bus_thread{0};
struct sigaction bus_previous {};
void OnBusError(int sig, siginfo_t* info, void* context) {
  if (bus_jump != nullptr && bus_thread.load() == gettid()) siglongjmp(*bus_jump, 1);
  // Another thread's SIGBUS, during the walk: what the host installed handles it.
  if ((bus_previous.sa_flags & SA_SIGINFO) != 0 && bus_previous.sa_sigaction != nullptr) {
    bus_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (bus_previous.sa_handler != SIG_DFL && bus_previous.sa_handler != SIG_IGN) {
    bus_previous.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

// Whether every page from `first` to `last` (those past the end of a short
// data.mdb) is in LMDB's free list. LMDB counts a page allocated and freed
// within one transaction in its last page without ever writing it, so a log
// whose process was killed can legitimately end a few free pages early;
// only a page the trees still use makes the file truncated.
bool TailPagesAreFree(MDB_txn* txn, uint64_t first, uint64_t last) {
  absl::flat_hash_set<uint64_t> missing;
  for (uint64_t p = first; p <= last; ++p) missing.insert(p);
  std::lock_guard<std::mutex> walk(bus_walk_mu);
  struct sigaction handler{};
  handler.sa_sigaction = OnBusError;
  handler.sa_flags = SA_SIGINFO;
  sigemptyset(&handler.sa_mask);
  sigaction(SIGBUS, &handler, &bus_previous);
  MDB_cursor* cursor = nullptr;
  sigjmp_buf jump;
  volatile bool faulted = false;
  if (sigsetjmp(jump, 1) == 0) {
    bus_jump = &jump;
    bus_thread.store(gettid());
    if (mdb_cursor_open(txn, /*FREE_DBI=*/0, &cursor) == 0) {
      MDB_val k, v;
      for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0 && !missing.empty();
           rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        // An ID list: its count, then the page numbers.
        const auto* ids = static_cast<const size_t*>(v.mv_data);
        const size_t n = v.mv_size / sizeof(size_t);
        for (size_t i = 1; i < n && i <= ids[0]; ++i) missing.erase(ids[i]);
      }
    }
  } else {
    faulted = true;
  }
  bus_thread.store(0);
  bus_jump = nullptr;
  sigaction(SIGBUS, &bus_previous, nullptr);
  if (cursor != nullptr) mdb_cursor_close(cursor);
  return !faulted && missing.empty();
}

}  // namespace

absl::Status CheckDataFileCoversPages(MDB_env* env, const std::string& data_file) {
  // Another process may commit while this looks. Its pages are written
  // before its meta page, so a file size read after the meta covers what
  // that meta names; the free list is read in a snapshot of that same meta
  // (a commit in between means looking again).
  for (int attempt = 0;; ++attempt) {
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) != 0) return absl::OkStatus();  // the caller's open names it
    MDB_envinfo info;
    MDB_stat stat;
    std::error_code ec;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &stat) != 0) {
      mdb_txn_abort(txn);
      return absl::OkStatus();
    }
    const std::uintmax_t data_bytes = std::filesystem::file_size(data_file, ec);
    const std::uintmax_t used = (std::uintmax_t{info.me_last_pgno} + 1) * stat.ms_psize;
    if (ec || data_bytes >= used) {
      mdb_txn_abort(txn);
      return absl::OkStatus();
    }
    if (mdb_txn_id(txn) != info.me_last_txnid && attempt < 1000) {
      mdb_txn_abort(txn);
      continue;
    }
    const bool free_tail = TailPagesAreFree(txn, data_bytes / stat.ms_psize, info.me_last_pgno);
    mdb_txn_abort(txn);
    if (free_tail) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat("the log file '", data_file, "' is truncated: it is ", data_bytes,
                                            " bytes but its pages reach ", used,
                                            " bytes; restore the log directory from a backup (`crlog verify` "
                                            "checks the result)"));
  }
}

}  // namespace crlog::log
