#!/usr/bin/env bash
# metronome.sh BINDIR - the QNX course's metronome resource manager
# (c-tests/programs/metronome.c, built as BINDIR/metronome), used the way a user would:
# start it, `cat` its device, `echo set 100 3 4 >` it, `cat` it again, `echo quit >` it.
#
# As root the device is /dev/local/metronome (every user may use it); otherwise it is
# in a temporary directory. Where FUSE is missing (no /dev/fuse, or no fusermount3 for
# a user) the demo says so and succeeds. Every step is bounded (5 s; the server 30 s),
# and whatever it started or made is gone when it ends. The exit status is non-zero if
# a step failed.
set -u

bindir=${1:-}
if [ -z "$bindir" ] || [ ! -x "$bindir/metronome" ]; then
    echo "usage: $0 BINDIR (with BINDIR/metronome built)" >&2
    exit 2
fi
if [ ! -c /dev/fuse ] || { [ "$(id -u)" != 0 ] && ! command -v fusermount3 >/dev/null; }; then
    echo "metronome demo: skipped, FUSE is not usable here (/dev/fuse, or fusermount3 for a user)"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/neutrino-metronome.XXXXXX") || exit 2
made=
if [ "$(id -u)" = 0 ]; then
    dir=/dev/local
    [ -e "$dir" ] || made=1
else
    dir=$tmp/dev
fi
dev=$dir/metronome
server=

cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null
        wait "$server" 2>/dev/null
    fi
    # The metronome's paths go with it, and so does a /dev/local made for them.
    [ -z "$made" ] || rmdir "$dir" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout -k 1 30 stdbuf -oL "$bindir/metronome" "$dir" >"$tmp/server.out" 2>&1 &
server=$!
for _ in $(seq 1 250); do
    [ -e "$dir/metronome-help" ] && awk -v p="$dir/metronome-help" '$5 == p { f = 1 } END { exit !f }' \
        /proc/self/mountinfo && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.02
done
if ! [ -e "$dir/metronome-help" ]; then
    echo "metronome demo: the metronome did not attach $dev within 5 s; its output:" >&2
    sed 's/^/  | /' "$tmp/server.out" >&2
    exit 1
fi
echo "metronome demo: the metronome serves $dev"

failed=0
step() {
    echo "\$ $1"
    timeout -k 1 5 bash -c "$1" 2>&1 | sed 's/^/  /'
    [ "${PIPESTATUS[0]}" = 0 ] || failed=1
}
step "cat $dev"
step "echo set 100 3 4 > $dev"
step "cat $dev"
sleep 2.2 # a measure of 3/4 at 100 beats/min: "|1&2&3&", 0.3 s a step
step "echo quit > $dev"

server_rc=
for _ in $(seq 1 250); do
    if ! kill -0 "$server" 2>/dev/null; then
        wait "$server"
        server_rc=$?
        break
    fi
    sleep 0.02
done
echo "metronome demo: the metronome's output (its beat, then its end):"
sed 's/^/  | /' "$tmp/server.out"
if [ "$server_rc" != 0 ]; then
    echo "metronome demo: the metronome did not end by itself after quit (status ${server_rc:-none})"
    failed=1
elif [ -e "$dev" ]; then
    echo "metronome demo: $dev is still there after quit"
    failed=1
fi
if [ "$failed" != 0 ]; then
    echo "metronome demo: FAILED"
    exit 1
fi
echo "metronome demo: OK ($dev is gone again)"
