// A writer process killed inside LMDB's commit, after it wrote the new meta
// page and before it advanced the lock file's transaction id, leaves a
// commit that read transactions cannot see until the next write
// transaction adopts it (dead-owner recovery of LMDB's writer mutex).
// Recovery decides from PendingEvents() which events a killed writer left,
// so PendingEvents() must see that commit: once it missed one, the next
// local commit took the killed writer's seq ("claims a place its site
// already holds"), seen in the crash suite's concurrent-writer test.
//
// The state is made exactly, with no timing: this process appends an event
// pending (a complete commit), then a child opens the environment, takes
// the writer mutex, sets the lock file's transaction id back by one (what
// readers see before the dying writer's last step) and is killed holding
// the mutex.
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "log/store.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::History;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::StoreTest;

using DeadWriterTest = StoreTest;

// Where LMDB keeps the last committed transaction id in lock.mdb: after the
// magic, the format and the reader mutex (a POSIX robust mutex on Linux).
constexpr off_t kLockTxnIdOffset = 8 + sizeof(pthread_mutex_t);

// In the child: take LMDB's writer mutex, set the lock file's txnid to
// `txnid - 1`, and die holding the mutex. Exit codes tell the parent what
// went wrong before the kill.
[[noreturn]] void DieHoldingTheWriterMutex(const std::string& dir, uint64_t txnid) {
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 16) != 0 ||
      mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644) != 0) {
    _exit(10);
  }
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env, nullptr, 0, &txn) != 0) _exit(11);
  const std::string lock = dir + "/lock.mdb";
  int fd = open(lock.c_str(), O_RDWR);
  if (fd < 0) _exit(12);
  uint64_t stored = 0;
  if (pread(fd, &stored, sizeof stored, kLockTxnIdOffset) != sizeof stored) _exit(13);
  if (stored != txnid) _exit(14);  // not the layout this test knows
  const uint64_t before = txnid - 1;
  if (pwrite(fd, &before, sizeof before, kLockTxnIdOffset) != sizeof before) _exit(15);
  raise(SIGKILL);
  _exit(16);
}

TEST_F(DeadWriterTest, PendingEventsSeesACommitAKilledWriterLeftUnannounced) {
  History h;
  EncodedEvent first = h.Native(Site(1), {});
  EncodedEvent left = h.Native(Site(1), {first.hash});
  ASSERT_TRUE(store_->Append(first.bytes, Durability::kNoSync).ok());
  ASSERT_TRUE(store_->AppendPending({left.bytes}, Durability::kNoSync).ok());

  MDB_env* probe = nullptr;
  ASSERT_EQ(mdb_env_create(&probe), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(probe, 16), 0);
  ASSERT_EQ(mdb_env_open(probe, LogPath().c_str(), MDB_NOTLS | MDB_RDONLY, 0644), 0);
  MDB_envinfo info;
  ASSERT_EQ(mdb_env_info(probe, &info), 0);
  mdb_env_close(probe);

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) DieHoldingTheWriterMutex(LogPath(), info.me_last_txnid);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 14) {
    GTEST_SKIP() << "this LMDB's lock file keeps its txnid elsewhere";
  }
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child did not die holding the writer mutex (exit " << WEXITSTATUS(status) << ")";

  auto pending = store_->PendingEvents();
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u) << "the killed writer's pending event is invisible to recovery";
  EXPECT_EQ((*pending)[0].hash, left.hash);
}

}  // namespace
}  // namespace crlog::log
