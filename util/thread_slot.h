// One pointer per thread, under a pthread key rather than in a thread_local.
// crlog's core is compiled into the dlopened extension, where a thread_local
// lives in dynamic TLS, which this toolchain's LeakSanitizer crashes on while
// scanning at exit ("Tracer caught signal 11"); the extension must have no
// TLS segment at all (tests/capture/loading_test.cc). The key is deleted
// with the slot, when the extension is unloaded, so load/unload cycles do
// not use keys up.
#ifndef CRLOG_UTIL_THREAD_SLOT_H_
#define CRLOG_UTIL_THREAD_SLOT_H_

#include <pthread.h>

#include <cstdio>
#include <cstdlib>

namespace crlog {

template <typename T>
class ThreadSlot {
 public:
  // `what` names the slot in the message when no key is left.
  explicit ThreadSlot(const char* what) {
    if (pthread_key_create(&key_, nullptr) != 0) {
      std::fprintf(stderr, "crlog: no pthread key is left for %s\n", what);
      std::abort();
    }
  }
  ~ThreadSlot() { pthread_key_delete(key_); }
  ThreadSlot(const ThreadSlot&) = delete;
  ThreadSlot& operator=(const ThreadSlot&) = delete;

  T* Get() const { return static_cast<T*>(pthread_getspecific(key_)); }
  void Set(T* value) const { pthread_setspecific(key_, value); }

 private:
  pthread_key_t key_;
};

}  // namespace crlog

#endif  // CRLOG_UTIL_THREAD_SLOT_H_
