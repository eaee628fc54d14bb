# Sourced by the dev/bench* scripts: sets $bench to a built copy of the benchmark harness.
# The harness (../shared/bench, or BENCH_DIR) may be read-only, and its build.sh writes its
# binaries and results next to its sources, so it is copied into target/bench (ignored by git)
# and built there. The copy is refreshed whenever a source file of the harness is newer.
#   source dev/harness.sh [--no-netty]
harness_src=${BENCH_DIR:-../shared/bench}
[[ -x $harness_src/compare.sh ]] || { echo "${0##*/}: no harness at $harness_src (set BENCH_DIR)" >&2; exit 2; }
bench=$PWD/target/bench
if [[ ! -f $bench/.copied ]] || [[ -n $(find "$harness_src" -newer "$bench/.copied" -type f -print -quit) ]]; then
  rm -rf "$bench"
  mkdir -p "$bench"
  cp -R "$harness_src/." "$bench/"
  chmod -R u+w "$bench"
  touch "$bench/.copied"
fi
if [[ ! -x $bench/loadgen/loadgen || ! -x $bench/c-epoll-echo/c-epoll-echo || ! -d $bench/nio-echo/classes ]] ||
   [[ ${1:-} != --no-netty && ! -f $bench/netty-echo/target/netty-echo.jar ]]; then
  "$bench/build.sh" "$@" >&2
fi
