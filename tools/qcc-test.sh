#!/bin/sh
# qcc-test.sh DIR - QNX's driver options through the qcc and q++ first on PATH (make qcc-check).
# Each case compiles (and runs) a small program in DIR; the exit status counts the failures.
set -u
dir=${1:?usage: qcc-test.sh DIR}
mkdir -p "$dir" && cd "$dir" || exit 2
failures=0
ok() { echo "qcc-test: ok: $1"; }
fail() { echo "qcc-test: FAILED: $1" >&2; failures=$((failures + 1)); }
# expect NAME CMD...: CMD succeeds.
expect() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
# refuse NAME PATTERN CMD...: CMD fails with PATTERN in its message.
refuse() {
    name=$1 pat=$2; shift 2
    "$@" >err.txt 2>&1; rc=$?
    if [ "$rc" -ne 0 ] && grep -q -- "$pat" err.txt; then ok "$name"; else fail "$name (status $rc: $(cat err.txt))"; fi
}

cat >math.c <<'X'
#include <sys/neutrino.h>
#include <math.h>
#include <stdio.h>
int main(void)
{
    volatile double x = 2.0;
    int chid = ChannelCreate(0);
    printf("%.3f\n", sqrt(x));
    return chid == -1 || ChannelDestroy(chid) == -1;
}
X
expect "-lm before the source, -lsocket, -EL, -N, -M" \
    qcc -Vgcc_ntox86_64 -EL -lm -lsocket -N 64k -N32k -M -o math math.c
expect "the program runs" sh -c './math | grep -qx 1.414'
expect "-M writes OUTPUT.map" test -s math.map

cat >defs.c <<'X'
#if A != 1 || B != 2
#error -Wc, options did not reach the compiler
#endif
static const char m[] = MSG;
_Static_assert(sizeof m == 6, "the quoted -D came through whole");
int main(void) { return 0; }
X
expect "-Wc,a,b and quoting" qcc -Vgcc_ntox86_64 -Wc,-DA=1,-DB=2 "-DMSG=\"a b'c\"" -o defs defs.c

printf 'int main(void) { int unused; return 0; }\n' >warn.c
expect "-w1 keeps -Wall off" qcc -w1 -Wc,-Werror -c -o warn.o warn.c
refuse "-w9 turns -Wall on" "unused" qcc -w9 -Wc,-Werror -c -o warn.o warn.c
expect "-w0 silences" sh -c 'qcc -w0 -c -o warn.o warn.c 2>&1 | grep -q . && exit 1 || exit 0'

cat >cxx.c <<'X'
#ifndef __cplusplus
#error not compiled as C++
#endif
#include <sys/neutrino.h>
int main() { return ChannelCreate(0) == -1; }
X
expect "-lang-c++" qcc -Vgcc_ntox86_64 -lang-c++ -o cxx1 cxx.c
expect "-Vgcc_ntox86_64_cxx" qcc -V12.2.0,gcc_ntox86_64_cxx -o cxx2 cxx.c
expect "q++ and -lcpp" q++ -Vgcc_ntox86_64 -o cxx3 cxx.c -lcpp
expect "the C++ program runs" ./cxx3

printf '#ifndef __clang__\n#error not clang\n#endif\nint main(void){return 0;}\n' >clang.c
if command -v clang >/dev/null 2>&1; then
    expect "QCC_CC" env QCC_CC=clang qcc -o clang clang.c
fi

refuse "-V alone" "needs a target" qcc -V -c -o x.o defs.c
refuse "another architecture" "gcc_ntoaarch64le" qcc -Vgcc_ntoaarch64le -c -o x.o defs.c
refuse "-EB" "little-endian" qcc -EB -c -o x.o defs.c

[ "$failures" -eq 0 ] && echo "qcc-test: all passed"
exit "$failures"
