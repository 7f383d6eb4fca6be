#!/usr/bin/env bash
# Installs the SDK from a Forest build into a temporary prefix, builds
# examples/sdk-worker against it the way an application would
# (find_package(Forest) through CMAKE_PREFIX_PATH, nothing from the source
# tree), and runs it: with etcd unreachable it must exit 1 saying so.
#
# usage: sdk_install_test.sh CMAKE BUILD_DIR EXAMPLE_DIR CXX [SANITIZERS]
set -euo pipefail

cmake=$1 build=$2 example=$3 cxx=$4 sanitize=${5:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/forest-sdk-install.XXXXXX")
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$work/prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install"; }
for f in lib/libforest-sdk.a include/forest/worker.h include/forest/job.h \
         lib/cmake/Forest/ForestConfig.cmake lib/cmake/Forest/ForestTargets.cmake; do
  [[ -f "$work/prefix/$f" ]] || fail "not installed: $f"
done
# The public headers stand alone: no Forest internals, Abseil, gRPC or JSON.
if grep -nE '#include +["<](absl|grpc|google|nlohmann|common|coord|worker|model)/' \
     "$work/prefix/include/forest/"*.h; then
  fail "a public header includes a non-public header"
fi

flags=()
launcher=$(command -v ccache || true)
[[ -n "$launcher" ]] && flags+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher")
if [[ -n "$sanitize" ]]; then
  # The library was built with sanitizers: so must its user be.
  flags+=("-DCMAKE_CXX_FLAGS=-fsanitize=$sanitize" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=$sanitize")
fi
"$cmake" -S "$example" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix" "${flags[@]}" \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure the example"; }
grep -q "Forest_DIR:PATH=$work/prefix/lib/cmake/Forest" "$work/build/CMakeCache.txt" ||
  fail "the example did not find Forest in the prefix"
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; fail "build the example"; }

# It runs: no etcd on port 1, so Start() throws forest::Error and main exits 1.
set +e
ASAN_OPTIONS=detect_leaks=0 "$work/build/sdk-worker" --etcd-endpoints 127.0.0.1:1 \
  --dial-timeout-ms 300 >"$work/run.out" 2>"$work/run.err"
code=$?
set -e
[[ $code -eq 1 ]] || { cat "$work/run.err"; fail "sdk-worker exited $code, want 1"; }
grep -q "sdk-worker: forest::Worker: cannot connect to etcd (127.0.0.1:1)" "$work/run.err" ||
  { cat "$work/run.err"; fail "sdk-worker did not say etcd is unreachable"; }
"$work/build/sdk-worker" --bogus x 2>/dev/null && fail "a bad flag was accepted"
echo "PASS: installed to a prefix, example configured with find_package(Forest), built and ran"
