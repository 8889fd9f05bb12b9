#!/usr/bin/env bash
# run.sh OUTDIR [extra CFLAGS...]
#
# Builds every c-tests/test_*.c (or, with ONLY=GLOB, the c-tests/GLOB.c), c-tests/layout.c
# and c-tests/qnx_headers.c (not with ONLY) against the
# installed library found through pkg-config (the caller sets PKG_CONFIG_PATH and
# LD_LIBRARY_PATH; CC is honoured),
# runs each program under `timeout ${TEST_TIMEOUT:-120}`, and sums the `<program>: N passed, N failed`
# lines.  A program that crashes or times out without printing its line counts as
# 1 failed; so does a program that fails to build.  layout.c and qnx_headers.c are also
# compiled and run as C++ (${CXX:-c++} -std=gnu++17) when a C++ compiler is available.
#
# Last line: `c-tests: P passed, F failed`.  Exit status non-zero if F > 0 or any build
# failed.
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 OUTDIR [extra CFLAGS...]" >&2
    exit 2
fi
OUTDIR=$1
shift
EXTRA=("$@")
HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
CXX=${CXX:-c++}
mkdir -p "$OUTDIR" || exit 2

if ! PKG_CFLAGS=$(pkg-config --cflags neutrino) || ! PKG_LIBS=$(pkg-config --libs neutrino); then
    echo "run.sh: pkg-config cannot find neutrino (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-})" >&2
    echo "c-tests: 0 passed, 1 failed"
    exit 1
fi

total_pass=0
total_fail=0
build_fail=0
built=()

build() { # name, compiler, std, source [language]
    local name=$1 compiler=$2 std=$3 src=$4 lang=${5:-}
    local log="$OUTDIR/$name.build.log"
    local langflags=()
    [ -n "$lang" ] && langflags=(-x "$lang")
    # shellcheck disable=SC2086  # pkg-config output is a word list
    if "$compiler" -Wall -Wextra -Werror "$std" "${EXTRA[@]}" $PKG_CFLAGS "${langflags[@]}" \
        "$src" -x none $PKG_LIBS -lpthread -o "$OUTDIR/$name" >"$log" 2>&1; then
        built+=("$name")
    else
        echo "BUILD FAILED: $name ($compiler $std)"
        sed 's/^/    /' "$log" | head -n 60
        build_fail=$((build_fail + 1))
        total_fail=$((total_fail + 1))
    fi
}

if [ -n "${ONLY:-}" ]; then
    # shellcheck disable=SC2206  # the glob is meant to expand
    sources=("$HERE"/$ONLY.c)
else
    sources=("$HERE"/test_*.c "$HERE"/layout.c "$HERE"/qnx_headers.c)
fi
for src in "${sources[@]}"; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    build "$name" "$CC" -std=gnu11 "$src"
done
if [ -z "${ONLY:-}" ] && command -v "$CXX" >/dev/null 2>&1; then
    build layout_cxx "$CXX" -std=gnu++17 "$HERE/layout.c" c++
    build qnx_headers_cxx "$CXX" -std=gnu++17 "$HERE/qnx_headers.c" c++
fi

for name in "${built[@]}"; do
    echo "=== $name"
    log="$OUTDIR/$name.log"
    (cd "$OUTDIR" && timeout -k 5 "${TEST_TIMEOUT:-120}" "./$name") >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed\$" "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
        f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
        total_pass=$((total_pass + p))
        total_fail=$((total_fail + f))
        if [ "$f" -eq 0 ] && [ "$rc" -ne 0 ]; then
            echo "$name: exit status $rc despite 0 failures"
            total_fail=$((total_fail + 1))
        fi
    else
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "$name: TIMED OUT (no summary line)"
        else
            echo "$name: no summary line (exit status $rc)"
        fi
        total_fail=$((total_fail + 1))
    fi
done

echo "c-tests: $total_pass passed, $total_fail failed"
if [ "$total_fail" -gt 0 ] || [ "$build_fail" -gt 0 ]; then
    exit 1
fi
exit 0
