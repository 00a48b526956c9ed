// Direct access to a log's LMDB environment, for tests that damage a log
// behind the store's back. The layout is log/format.h's. Every LogStore on
// the path must be destroyed before a RawLmdb is opened on it (one MDB_env
// per path per process), and the RawLmdb destroyed before a store reopens.
#ifndef CRLOG_TESTS_LOG_RAW_LMDB_H_
#define CRLOG_TESTS_LOG_RAW_LMDB_H_

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "log/format.h"

namespace crlog::log::testing {

inline std::string U64BE(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline uint64_t FromU64BE(std::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

inline std::string U32BE(uint32_t v) { return U64BE(v).substr(4); }

// Each call runs in its own LMDB transaction; failures are test failures.
class RawLmdb {
 public:
  explicit RawLmdb(const std::string& path) {
    Check(mdb_env_create(&env_), "mdb_env_create");
    Check(mdb_env_set_maxdbs(env_, format::kMaxDbs), "mdb_env_set_maxdbs");
    ok_ = Check(mdb_env_open(env_, path.c_str(), 0, 0644), "mdb_env_open " + path);
  }
  ~RawLmdb() {
    if (env_ != nullptr) mdb_env_close(env_);
  }
  RawLmdb(const RawLmdb&) = delete;
  RawLmdb& operator=(const RawLmdb&) = delete;

  bool ok() const { return ok_; }

  std::optional<std::string> Get(const char* db, std::string_view key) {
    std::optional<std::string> out;
    Run(db, MDB_RDONLY, [&](MDB_txn* txn, MDB_dbi dbi) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v;
      int rc = mdb_get(txn, dbi, &k, &v);
      if (rc == 0) {
        out = std::string(static_cast<const char*>(v.mv_data), v.mv_size);
      } else if (rc != MDB_NOTFOUND) {
        Check(rc, "mdb_get");
      }
    });
    return out;
  }

  void Put(const char* db, std::string_view key, std::string_view value) {
    Run(db, 0, [&](MDB_txn* txn, MDB_dbi dbi) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{value.size(), const_cast<char*>(value.data())};
      Check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put");
    });
  }

  // Returns whether the key was there.
  bool Del(const char* db, std::string_view key) {
    bool found = false;
    Run(db, 0, [&](MDB_txn* txn, MDB_dbi dbi) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      int rc = mdb_del(txn, dbi, &k, nullptr);
      if (rc == 0) {
        found = true;
      } else if (rc != MDB_NOTFOUND) {
        Check(rc, "mdb_del");
      }
    });
    return found;
  }

  std::vector<std::pair<std::string, std::string>> All(const char* db) {
    std::vector<std::pair<std::string, std::string>> out;
    Run(db, MDB_RDONLY, [&](MDB_txn* txn, MDB_dbi dbi) {
      MDB_cursor* cur = nullptr;
      if (!Check(mdb_cursor_open(txn, dbi, &cur), "mdb_cursor_open")) return;
      MDB_val k, v;
      int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
      while (rc == 0) {
        out.emplace_back(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                         std::string(static_cast<const char*>(v.mv_data), v.mv_size));
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      }
      if (rc != MDB_NOTFOUND) Check(rc, "mdb_cursor_get");
      mdb_cursor_close(cur);
    });
    return out;
  }

 private:
  template <typename F>
  void Run(const char* db, unsigned flags, F&& f) {
    if (!ok_) {
      ADD_FAILURE() << "RawLmdb not open";
      return;
    }
    MDB_txn* txn = nullptr;
    if (!Check(mdb_txn_begin(env_, nullptr, flags, &txn), "mdb_txn_begin")) return;
    MDB_dbi dbi;
    if (!Check(mdb_dbi_open(txn, db, 0, &dbi), std::string("mdb_dbi_open ") + db)) {
      mdb_txn_abort(txn);
      return;
    }
    f(txn, dbi);
    if (flags & MDB_RDONLY) {
      mdb_txn_abort(txn);
    } else {
      Check(mdb_txn_commit(txn), "mdb_txn_commit");
    }
  }

  static bool Check(int rc, const std::string& what) {
    if (rc == 0) return true;
    ADD_FAILURE() << what << ": " << mdb_strerror(rc);
    return false;
  }

  MDB_env* env_ = nullptr;
  bool ok_ = false;
};

}  // namespace crlog::log::testing

#endif  // CRLOG_TESTS_LOG_RAW_LMDB_H_
