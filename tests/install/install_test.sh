#!/usr/bin/env bash
# crlog installed like a library, and used as one: `cmake --install` into a
# scratch prefix, the layout checked, a consumer program (consumer/) built
# against the installed tree by CMake (find_package(crlog)) and by
# pkg-config, each run, and the installed crsqlite.so copied alone into an
# empty directory and loaded into the sqlite3 shell.
#   install_test.sh CMAKE CXX BUILD_DIR LIBDIR TMPDIR CXXFLAGS [HOST_ENV...]
# CMAKE and CXX are the cmake and compiler of the build, BUILD_DIR the build
# tree to install, LIBDIR its CMAKE_INSTALL_LIBDIR, CXXFLAGS extra flags for
# the consumer (the sanitizers, in a sanitizer build), HOST_ENV NAME=VALUE
# settings for the sqlite3 shell (tests/CMakeLists.txt: CRLOG_HOST_ENV). A
# fresh directory is made under TMPDIR and removed afterwards.
set -euo pipefail

usage="usage: install_test.sh CMAKE CXX BUILD_DIR LIBDIR TMPDIR CXXFLAGS [HOST_ENV...]"
cmake=${1:?$usage}
cxx=${2:?$usage}
build=${3:?$usage}
libdir=${4:?$usage}
tmp=${5:?$usage}
mkdir -p "$tmp"
cxxflags=${6-}
shift 6
host_env=("$@")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "$tmp/install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
# Nothing from the environment may point the consumer builds elsewhere.
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH CXXFLAGS LDFLAGS

passed=0
failed=0
# check NAME COMMAND...: runs COMMAND, counting it passed when it exits 0.
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}
# runs_ok LOG PROGRAM ARGS...: PROGRAM prints exactly OK.
runs_ok() {
  local log=$1
  shift
  local out
  out=$("$@" 2>"$log") || { cat "$log" >&2; return 1; }
  [[ $out == OK ]] || { echo "printed: $out" >&2; cat "$log" >&2; return 1; }
}

# 1. Install, and the layout.
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" ||
  { cat "$work/install.log" >&2; exit 1; }
lib=$prefix/$libdir
layout() {
  local f status=0
  for f in "$lib/crsqlite.so" "$prefix/bin/crlog" "$lib/cmake/crlog/crlogConfig.cmake" \
           "$lib/cmake/crlog/crlogConfigVersion.cmake" "$lib/cmake/crlog/crlogTargets.cmake" \
           "$lib/pkgconfig/crlog.pc" "$prefix/include/crlog/replica.h" "$prefix/include/crlog/log.h"; do
    [[ -f $f ]] || { echo "missing: $f" >&2; status=1; }
  done
  for f in "$here"/../../include/crlog/*.h; do
    cmp -s "$f" "$prefix/include/crlog/$(basename "$f")" || { echo "not installed as is: $f" >&2; status=1; }
  done
  [[ -L $lib/libcrlog.so && $(readlink "$lib/libcrlog.so") == crsqlite.so ]] ||
    { echo "$lib/libcrlog.so is not a link to crsqlite.so" >&2; status=1; }
  return $status
}
check "the install lays out the library, link, headers, program, CMake package and crlog.pc" layout
# Nothing installed names the build or source tree: the installed tree stands
# on its own.
# (The scratch prefix may itself lie in the build tree: its own name is taken
# out first.)
no_tree_paths() {
  local src f status=0
  src=$(cd "$here/../.." && pwd)
  for f in "$lib"/cmake/crlog/* "$lib/pkgconfig/crlog.pc"; do
    if sed "s|$prefix|PREFIX|g" "$f" | grep -F -e "$src" -e "$(cd "$build" && pwd)"; then
      echo "in $f" >&2
      status=1
    fi
  done
  if readelf -d "$lib/crsqlite.so" | grep -E 'R(UN)?PATH'; then status=1; fi
  return $status
}
check "the installed package files and crsqlite.so name no build or source path" no_tree_paths
check "the installed crlog finds its libraries in ../$libdir" \
  bash -c "readelf -d '$prefix/bin/crlog' | grep -E 'R(UN)?PATH' | grep -qF '[\$ORIGIN/../$libdir]' &&
           '$prefix/bin/crlog' --help >/dev/null"

# 2. A CMake project: find_package(crlog) + crlog::crlog + SQLite.
cmake_consumer() {
  "$cmake" -S "$here/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_BUILD_TYPE=Release \
    >"$work/cmake.log" 2>&1 &&
    "$cmake" --build "$work/cmake-build" -j2 >>"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log" >&2; return 1; }
  # The package found is the one just installed.
  grep -qxF "crlog_DIR:PATH=$lib/cmake/crlog" "$work/cmake-build/CMakeCache.txt" ||
    { grep crlog_DIR "$work/cmake-build/CMakeCache.txt" >&2; return 1; }
  mkdir "$work/run-cmake"
  runs_ok "$work/run-cmake.log" "$work/cmake-build/consumer" "$work/run-cmake"
}
check "a CMake consumer (find_package(crlog), crlog::crlog) builds and runs" cmake_consumer

# 3. pkg-config, as docs/api.md shows it.
pkg_config_consumer() {
  local flags
  flags=$(PKG_CONFIG_PATH=$lib/pkgconfig pkg-config --cflags --libs crlog) || return 1
  [[ $flags == *"-I$prefix/include"* && $flags == *"-L$lib"* && $flags == *-lcrlog* ]] ||
    { echo "pkg-config gave: $flags" >&2; return 1; }
  # shellcheck disable=SC2086  # the flags are words
  "$cxx" -std=c++20 -Wall -Wextra -Werror $cxxflags "$here/consumer/consumer.cc" $flags -lsqlite3 \
    -o "$work/pc-consumer" || return 1
  mkdir "$work/run-pc"
  runs_ok "$work/run-pc.log" "$work/pc-consumer" "$work/run-pc"
}
check "a pkg-config consumer (g++ \$(pkg-config --cflags --libs crlog) -lsqlite3) builds and runs" \
  pkg_config_consumer

# 4. The installed crsqlite.so copied alone into an empty directory is still
# a loadable extension: it needs no other file of crlog's.
alone() {
  mkdir "$work/alone"
  cp "$lib/crsqlite.so" "$work/alone/"
  local out
  out=$(cd "$work/alone" && env "${host_env[@]}" sqlite3 -batch "$work/alone/app.db" \
        ".load $work/alone/crsqlite.so" \
        "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT);" "SELECT crsql_as_crr('t');" \
        "INSERT INTO t VALUES (1, 'x');" \
        "SELECT crsql_site_id() IS NOT NULL, count(*) FROM crsql_changes;" 2>&1) || { echo "$out" >&2; return 1; }
  [[ $out == "OK"$'\n'"1|1" ]] || { echo "sqlite3 printed: $out" >&2; return 1; }
}
check "crsqlite.so copied alone into an empty directory loads into the sqlite3 shell and captures" alone

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
