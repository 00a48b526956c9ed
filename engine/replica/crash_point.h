// Named crash points for the crash tests. When the environment variable
// CRLOG_CRASH_AT names a point, the process kills itself with SIGKILL on
// reaching it (after CRLOG_CRASH_SKIP earlier hits, default 0). Costs one
// comparison when unset.
#ifndef CRLOG_ENGINE_REPLICA_CRASH_POINT_H_
#define CRLOG_ENGINE_REPLICA_CRASH_POINT_H_

namespace crlog::engine {

void CrashPoint(const char* name);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_REPLICA_CRASH_POINT_H_
