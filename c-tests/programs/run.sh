#!/usr/bin/env bash
# run.sh OUTDIR
#
# Builds the QNX-idiom programs of this directory the way their users would, with
#     ${CC:-cc} -Wall prog.c $(pkg-config --cflags --libs neutrino)
# (warnings allowed: such code has them; the caller sets PKG_CONFIG_PATH and
# LD_LIBRARY_PATH), then runs each check below with real processes: a server in the
# background, its pid/chid (from its "Server pid P chid C" line) or its name handed to
# the client on the command line, as course code does.  Every process runs in its own
# process group (setsid) under `timeout`, with stdout line-buffered as on a terminal
# (stdbuf), and every group started is killed when its check ends.
#
# One line per check, "PASS name" or "FAIL name: why" (then the programs' output), and
# last `programs: P passed, F failed`; the exit status is non-zero if F > 0.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUTDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
mkdir -p "$OUTDIR" || exit 2
OUTDIR=$(cd "$OUTDIR" && pwd)
rm -f "$OUTDIR"/*.out

if ! PKG=$(pkg-config --cflags --libs neutrino); then
    echo "run.sh: pkg-config cannot find neutrino (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-})" >&2
    echo "programs: 0 passed, 1 failed"
    exit 1
fi

# ---- build ----------------------------------------------------------------------------
declare -A built
for src in "$HERE"/*.c; do
    prog=$(basename "$src" .c)
    # shellcheck disable=SC2086  # pkg-config output is a word list
    if (cd "$HERE" && "$CC" -Wall -o "$OUTDIR/$prog" "$prog.c" $PKG) >"$OUTDIR/$prog.build.log" 2>&1; then
        built[$prog]=1
    fi
done

# ---- process helpers ------------------------------------------------------------------
groups=()   # process groups started by the current check
NAME_TAG=idioms$$

cleanup() {
    local g
    for g in "${groups[@]}"; do
        kill -KILL -- "-$g" 2>/dev/null
    done
    for g in "${groups[@]}"; do
        wait "$g" 2>/dev/null
    done
    groups=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start LIMIT LOG PROG ARGS...: PROG in the background, in its own process group, for
# at most LIMIT seconds; sets $pid (also its process group).
start() {
    local limit=$1 log=$2 prog=$3
    shift 3
    setsid timeout -k 1 "$limit" stdbuf -oL -eL "$OUTDIR/$prog" "$@" >"$log" 2>&1 &
    pid=$!
    groups+=("$pid")
}

# run LIMIT LOG PROG ARGS...: PROG in the foreground (its own process group too); sets $rc.
run() {
    start "$@"
    wait "$pid"
    rc=$?
}

# await LOG REGEX [SECONDS]: wait (default 5 s) until LOG has a line matching REGEX.
await() {
    local i
    for ((i = 0; i < ${3:-5} * 50; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    return 1
}

# finish PID SECONDS: wait at most SECONDS for PID to end by itself; sets $rc (124 if it
# had to be killed).
finish() {
    local i
    for ((i = 0; i < $2 * 50; i++)); do
        if ! kill -0 "$1" 2>/dev/null; then
            wait "$1"
            rc=$?
            return
        fi
        sleep 0.02
    done
    kill -KILL -- "-$1" 2>/dev/null
    wait "$1" 2>/dev/null
    rc=124
}

# server_line LOG: sets $spid and $schid from the server's "Server pid P chid C" line.
server_line() {
    spid= schid=
    await "$1" '^Server pid [0-9]+ chid [0-9]+$' || return 1
    read -r _ _ spid _ schid < <(grep -Em1 '^Server pid [0-9]+ chid [0-9]+$' "$1")
}

has() { grep -Fq -- "$2" "$1"; }

need() {
    local prog
    for prog in "$@"; do
        if [ -z "${built[$prog]:-}" ]; then
            why="$prog.c does not build: $(grep -m1 -E 'error|undefined reference' "$OUTDIR/$prog.build.log")"
            return 1
        fi
    done
}

alive() { kill -0 "$1" 2>/dev/null; }

# ---- the checks -----------------------------------------------------------------------
# Each sets $why and returns 1 on failure; its logs are $OUTDIR/<check>.*.out.

check_chid1() { # pid/chid server; the client takes the pid and hard-codes chid 1
    local L=$OUTDIR/chid1 srv
    need chid1_server chid1_client || return 1
    start 20 "$L.server.out" chid1_server
    srv=$pid
    server_line "$L.server.out" || { why="the server printed no 'Server pid P chid C' line"; return 1; }
    [ "$schid" = 1 ] || { why="the server's channel is chid $schid, not 1"; return 1; }
    run 5 "$L.client.out" chid1_client "$spid"
    [ "$rc" = 0 ] || { why="chid1_client exit status $rc"; return 1; }
    has "$L.client.out" "Client: 40 + 2 = 42" || { why="no sum from the server"; return 1; }
    has "$L.client.out" "unknown type refused with ENOSYS" || { why="unknown type not ENOSYS"; return 1; }
    finish "$srv" 3
    [ "$rc" = 0 ] && has "$L.server.out" "Server quitting" ||
        { why="the server did not quit cleanly (status $rc)"; return 1; }
}

check_chid2() { # a server that attaches to another before ChannelCreate gets chid 2
    local L=$OUTDIR/chid2 up relay
    need chid1_server relay_server relay_client || return 1
    start 20 "$L.upstream.out" chid1_server
    up=$pid
    server_line "$L.upstream.out" || { why="the upstream server printed no pid/chid line"; return 1; }
    start 20 "$L.relay.out" relay_server "$spid"
    relay=$pid
    server_line "$L.relay.out" || { why="relay_server printed no pid/chid line"; return 1; }
    [ "$schid" = 2 ] ||
        { why="relay's channel is chid $schid, not 2 (needs one id space for chids and coids)"; return 1; }
    has "$L.relay.out" "upstream coid 0x40000001, self coid 0x40000003" ||
        { why="relay's coids are not 0x40000001 and 0x40000003"; return 1; }
    run 5 "$L.client.out" relay_client "$spid"
    [ "$rc" = 0 ] || { why="relay_client exit status $rc"; return 1; }
    has "$L.client.out" "Client: relayed 5 + 7 = 12" || { why="no relayed sum"; return 1; }
    finish "$relay" 3
    [ "$rc" = 0 ] || { why="relay_server exit status $rc"; return 1; }
    finish "$up" 3
    [ "$rc" = 0 ] || { why="upstream server exit status $rc"; return 1; }
}

# names_check NAME [-c]: ns_server (taking _IO_CONNECT with -c) and ns_client.
names_check() {
    local L=$OUTDIR/$1 name=$NAME_TAG-$1 srv
    need ns_server ns_client || return 1
    start 20 "$L.server.out" ns_server "$name" "${@:2}"
    srv=$pid
    await "$L.server.out" "^Server: attached $name" || { why="ns_server did not attach $name"; return 1; }
    run 5 "$L.client.out" ns_client "$name"
    [ "$rc" = 0 ] || { why="ns_client exit status $rc"; return 1; }
    has "$L.client.out" "Client: 3 + 4 = 7" &&
        has "$L.client.out" "server says \"hello from $name\"" &&
        has "$L.client.out" "bogus type -> ENOSYS" || { why="wrong answers"; return 1; }
    alive "$srv" || { why="ns_server died"; return 1; }
}
check_names_connect() { names_check names_connect -c; }   # the server accepts _IO_CONNECT
check_names_noconnect() { names_check names_noconnect; }  # ...or knows nothing of it

check_peers() { # two servers that name_open() each other before either receives
    local L=$OUTDIR/peers a=$NAME_TAG-peerA b=$NAME_TAG-peerB pa pb rca
    need peer || return 1
    start 10 "$L.a.out" peer "$a" "$b"
    pa=$pid
    start 10 "$L.b.out" peer "$b" "$a"
    pb=$pid
    finish "$pa" 5
    rca=$rc
    finish "$pb" 2
    [ "$rca" = 0 ] && [ "$rc" = 0 ] ||
        { why="exit statuses $rca and $rc (124: still blocked after 5 s, a deadlock)"; return 1; }
    has "$L.a.out" "$a: got \"hello from $b\"" && has "$L.a.out" "$a: answer \"$b says hi back\"" &&
        has "$L.b.out" "$b: got \"hello from $a\"" && has "$L.b.out" "$b: answer \"$a says hi back\"" ||
        { why="the hellos did not go both ways"; return 1; }
}

check_pulse_only() { # a MsgReceivePulse()-only server and a name_open() client
    local L=$OUTDIR/pulse_only name=$NAME_TAG-pulses srv
    need pulse_only_server pulse_only_client || return 1
    start 20 "$L.server.out" pulse_only_server "$name"
    srv=$pid
    await "$L.server.out" "^Server: waiting for pulses" || { why="the server did not start"; return 1; }
    run 3 "$L.client.out" pulse_only_client "$name"
    [ "$rc" = 0 ] || { why="pulse_only_client exit status $rc (124: it hung)"; return 1; }
    finish "$srv" 3
    [ "$rc" = 0 ] || { why="pulse_only_server exit status $rc"; return 1; }
    has "$L.server.out" "data pulse value 100" && has "$L.server.out" "data pulse value 300" &&
        has "$L.server.out" "Server: quit after 3 data pulses" || { why="pulses missing"; return 1; }
}

check_unblock() { # Ctrl-C on a REPLY-blocked client of an _NTO_CHF_UNBLOCK channel
    local L=$OUTDIR/unblock srv cli cpid rcvid i
    need unblock_server unblock_client || return 1
    start 20 "$L.server.out" unblock_server
    srv=$pid
    server_line "$L.server.out" || { why="the server printed no pid/chid line"; return 1; }
    start 10 "$L.client.out" unblock_client "$spid" "$schid"
    cli=$pid
    await "$L.server.out" "^Server: working on rcvid" || { why="the request never reached the server"; return 1; }
    cpid=$(sed -n 's/^Client pid \([0-9]*\) sending$/\1/p' "$L.client.out")
    [ -n "$cpid" ] || { why="the client printed no pid"; return 1; }
    rcvid=$(sed -n 's/^Server: working on rcvid \([0-9]*\)$/\1/p' "$L.server.out")
    # The server holds the message, so the client is REPLY-blocked: Ctrl-C it.
    kill -INT "$cpid"
    # It must live on until the server lets it go, half a second after the unblock pulse
    # (the server prints before it replies, hence the second look once the client is gone).
    for ((i = 0; i < 150; i++)); do
        has "$L.server.out" "Server: replying EINTR" && break
        if ! alive "$cli" && ! has "$L.server.out" "Server: replying EINTR"; then
            finish "$cli" 1
            why="the client ended (status $rc) before the server replied"
            return 1
        fi
        sleep 0.02
    done
    has "$L.server.out" "Server: unblock pulse for rcvid $rcvid" ||
        { why="no _PULSE_CODE_UNBLOCK for rcvid $rcvid"; return 1; }
    has "$L.server.out" "Server: replying EINTR to rcvid $rcvid" || { why="the server never replied"; return 1; }
    finish "$cli" 3
    [ "$rc" = 130 ] || { why="client exit status $rc, not 130 (killed by SIGINT)"; return 1; }
    has "$L.client.out" "MsgSend returned" && { why="the client ran on after SIGINT"; return 1; }
    alive "$srv" || { why="the server died"; return 1; }
}

check_pulses() { # pulses to a server (MsgSendPulse) and back (MsgDeliverEvent)
    local L=$OUTDIR/pulses srv v
    need pulse_server pulse_client || return 1
    start 20 "$L.server.out" pulse_server
    srv=$pid
    server_line "$L.server.out" || { why="the server printed no pid/chid line"; return 1; }
    run 5 "$L.client.out" pulse_client "$spid" "$schid"
    [ "$rc" = 0 ] || { why="pulse_client exit status $rc"; return 1; }
    has "$L.client.out" "Client: event pulse code 2 value 77" || { why="no event pulse"; return 1; }
    for v in 1 2 3; do
        has "$L.server.out" "Server: pulse code 1 value $v" || { why="pulse $v not received"; return 1; }
    done
    has "$L.server.out" "Server: delivered the client's event" || { why="no delivery"; return 1; }
    alive "$srv" || { why="the server died"; return 1; }
}

check_pulse_timer() { # SchedGet, sival_long, a periodic pulse timer, a self-connection
    local L=$OUTDIR/pulse_timer
    need pulse_timer || return 1
    run 5 "$L.out" pulse_timer
    [ "$rc" = 0 ] || { why="exit status $rc"; return 1; }
    has "$L.out" "chid 1 self coid 0x40000002" ||
        { why="not chid 1 / coid 0x40000002 (needs one id space for chids and coids)"; return 1; }
    has "$L.out" "SchedGet: policy SCHED_OTHER, priority 10" || { why="SchedGet's answer"; return 1; }
    [ "$(grep -Ec '^timer pulse [1-5]: code 4 value 5000000000$' "$L.out")" = 5 ] ||
        { why="not 5 timer pulses with the 64-bit value"; return 1; }
}

check_atomic_threads() { # pthread_create(NULL, ...) workers, <atomic.h>, pulses to main
    local L=$OUTDIR/atomic_threads
    need atomic_threads || return 1
    run 10 "$L.out" atomic_threads
    [ "$rc" = 0 ] || { why="exit status $rc"; return 1; }
    [ "$(grep -Ec '^worker [0-3] done' "$L.out")" = 4 ] && has "$L.out" "all workers agree" ||
        { why="wrong counts"; return 1; }
}

check_headers_only() { # QNX headers only, and what they bring along
    local L=$OUTDIR/headers_only
    need headers_only || return 1
    run 5 "$L.out" headers_only
    [ "$rc" = 0 ] && has "$L.out" "pulse value 2147483647" || { why="exit status $rc"; return 1; }
}

check_thread_pool() { # a name server on a dispatch thread pool, under 8 concurrent requests
    local L=$OUTDIR/thread_pool name=$NAME_TAG-pool srv ms most
    need tp_server tp_client || return 1
    start 20 "$L.server.out" tp_server "$name"
    srv=$pid
    await "$L.server.out" "^Server: $name ready" || { why="tp_server did not start"; return 1; }
    run 10 "$L.client.out" tp_client "$name"
    [ "$rc" = 0 ] || { why="tp_client exit status $rc"; return 1; }
    has "$L.client.out" "Client: 2 + 3 = 5" && has "$L.client.out" "unattached type -> ENOSYS" &&
        has "$L.client.out" "unhandled type -> ENOSYS" || { why="wrong answers"; return 1; }
    ms=$(sed -n 's/^Client: 8 requests of 200 ms in \([0-9]*\) ms$/\1/p' "$L.client.out")
    most=$(sed -n 's/^Client: the server ran at most \([0-9]*\) at once$/\1/p' "$L.client.out")
    [ -n "$ms" ] && [ "$ms" -lt 1400 ] || { why="8 requests took ${ms:-?} ms: not served in parallel"; return 1; }
    [ -n "$most" ] && [ "$most" -ge 3 ] && [ "$most" -le 6 ] ||
        { why="the pool ran ${most:-?} requests at once, not 3..6 (maximum 6)"; return 1; }
    finish "$srv" 3
    [ "$rc" = 0 ] && has "$L.server.out" "Server quitting" ||
        { why="tp_server did not quit cleanly (status $rc)"; return 1; }
}

check_resmgr_loop() { # QNX resource managers build unchanged, attach their path and serve
    local L=$OUTDIR/resmgr_loop prog
    need rm_metronome rm_devctl rm_dir || return 1
    for prog in rm_metronome rm_devctl rm_dir; do
        start 10 "$L.$prog.out" "$prog"
        # In its dispatch loop after resmgr_attach(): still running, nothing reported.
        finish "$pid" 1
        [ "$rc" = 124 ] && ! [ -s "$L.$prog.out" ] ||
            { why="$prog: exit status $rc, not waiting in its dispatch loop"; return 1; }
    done
}

# ---- run them -------------------------------------------------------------------------
checks=(chid1 chid2 names_connect names_noconnect peers pulse_only unblock pulses pulse_timer
    atomic_threads headers_only thread_pool resmgr_loop)
passed=0
failed=0
for c in "${checks[@]}"; do
    why=
    if "check_$c"; then
        echo "PASS $c"
        passed=$((passed + 1))
    else
        echo "FAIL $c: $why"
        failed=$((failed + 1))
        for f in "$OUTDIR/$c".*out; do
            [ -s "$f" ] || continue
            echo "    --- $(basename "$f")"
            head -n 20 "$f" | sed 's/^/    | /'
        done
    fi
    cleanup
done

echo "programs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
