// A directory for the files one fuzz input needs (a log, a database), made
// once per process and removed at exit. It lives in /dev/shm when there is
// one: the targets create and sync a database and a log for every input, and
// memory makes that cheap. Each process has its own, so parallel fuzzers and
// ctest runs never share files. $CRLOG_FUZZ_SCRATCH, when set, is used in
// place of /dev/shm.
#ifndef CRLOG_TESTS_FUZZ_SCRATCH_DIR_H_
#define CRLOG_TESTS_FUZZ_SCRATCH_DIR_H_

#include <string>

namespace crlog::fuzz {

// The process's scratch directory (exists).
const std::string& ScratchDir();
// Removes `path` and everything under it; a missing path is fine.
void RemoveAll(const std::string& path);

}  // namespace crlog::fuzz

#endif  // CRLOG_TESTS_FUZZ_SCRATCH_DIR_H_
