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
# The resource managers (metronome, rm_*) are driven by real Linux tools (cat, echo, ls,
# stat, python3) through their FUSE paths: as root under /dev/local and /dev (every user
# reaches them), and as an unprivileged user (nobody, through setpriv or runuser) in a
# directory it owns. Those checks skip where FUSE is missing; the paths they attach are
# gone when they end, whatever happened (what a killed server leaves is unmounted and
# removed).
#
# One line per check, "PASS name", "SKIP name: why" or "FAIL name: why" (then the
# programs' output), and last `programs: P passed, F failed, S skipped`; the exit status
# is non-zero if F > 0.
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

paths=()    # resource-manager paths the current check attaches
dirs=()     # directories a server may have made for them: removed if empty
tmpdirs=()  # the check's own temporary directories

# mounted PATH: whether PATH is a mount point.
mounted() { awk -v p="$1" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo; }

cleanup() {
    local g p i
    {
        for g in "${groups[@]}"; do
            kill -KILL -- "-$g"
        done
        for g in "${groups[@]}"; do
            wait "$g"
        done
    } 2>/dev/null
    groups=() AS=()
    # A killed server's watchdog unmounts its paths at once; give it a second, then do it.
    for p in "${paths[@]}"; do
        for ((i = 0; i < 50; i++)); do
            mounted "$p" || break
            sleep 0.02
        done
        if mounted "$p"; then
            echo "    (cleanup: $p was still mounted)"
            umount -l "$p" 2>/dev/null || fusermount3 -u -z "$p" 2>/dev/null
        fi
        if [ -e "$p" ] && ! mounted "$p"; then
            echo "    (cleanup: $p was left behind)"
            rm -f "$p" 2>/dev/null || rmdir "$p" 2>/dev/null
        fi
    done
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
        rmdir "${dirs[i]}" 2>/dev/null
    done
    for p in "${tmpdirs[@]}"; do
        rm -rf "$p"
    done
    paths=() dirs=() tmpdirs=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start LIMIT LOG PROG ARGS...: PROG in the background, in its own process group, for
# at most LIMIT seconds; sets $pid (also its process group).
# With AS set (a command prefix such as setpriv's), PROG runs as that user.
AS=()
start() {
    local limit=$1 log=$2 prog=$3
    shift 3
    setsid timeout -k 1 "$limit" "${AS[@]}" stdbuf -oL -eL "$OUTDIR/$prog" "$@" >"$log" 2>&1 &
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
# had to be killed). Quiet: bash's "Killed" notices of the jobs it reaps are left out.
finish() {
    local i
    for ((i = 0; i < $2 * 50; i++)); do
        if ! kill -0 "$1"; then
            wait "$1"
            rc=$?
            return
        fi
        sleep 0.02
    done
    kill -KILL -- "-$1"
    wait "$1"
    rc=124
} 2>/dev/null

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

# ---- resource managers ----------------------------------------------------------------
ROOT=
[ "$(id -u)" = 0 ] && ROOT=1

# The command prefix that runs a program as an unprivileged user: nobody, from root;
# nothing when we are not root (we are that user).
USER_RUN=()
if [ -n "$ROOT" ]; then
    if command -v setpriv >/dev/null && getent passwd 65534 >/dev/null; then
        USER_RUN=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    elif command -v runuser >/dev/null && getent passwd nobody >/dev/null; then
        USER_RUN=(runuser -u nobody --)
    fi
fi

# t CMD...: a command on a resource manager's path, 5 s at most.
t() { timeout -k 1 5 "$@"; }

# fuse_usable: fails with status 2 (skip) and $why where this user cannot mount FUSE.
fuse_usable() {
    [ -c /dev/fuse ] || { why="no /dev/fuse"; return 2; }
    [ -n "$ROOT" ] && return 0
    command -v fusermount3 >/dev/null || { why="not root, and no fusermount3"; return 2; }
    [ -r /dev/fuse ] && [ -w /dev/fuse ] || { why="/dev/fuse is not open to this user"; return 2; }
}

# user_usable: fails with status 2 and $why where no unprivileged user can mount FUSE and
# run our programs.
user_usable() {
    fuse_usable || return 2
    [ -z "$ROOT" ] && return 0
    [ ${#USER_RUN[@]} -gt 0 ] || { why="neither setpriv nor runuser (nor user nobody) here"; return 2; }
    command -v fusermount3 >/dev/null || { why="no fusermount3 for unprivileged mounts"; return 2; }
    [ "$(stat -c %a /dev/fuse)" = 666 ] || { why="/dev/fuse is not open to users (make deps)"; return 2; }
    "${USER_RUN[@]}" "$OUTDIR/headers_only" >/dev/null 2>&1 ||
        { why="nobody cannot run the programs built in $OUTDIR"; return 2; }
}

# user_dir: a new directory the unprivileged user owns, in $udir.
user_dir() {
    udir=$(mktemp -d "${TMPDIR:-/tmp}/rm-user.XXXXXX") || return 1
    tmpdirs+=("$udir")
    chmod 755 "$udir"
    [ -z "$ROOT" ] || chown 65534:65534 "$udir"
}

# base_dir: where the resource managers attach, in $base: /dev/local as root (removed
# again if it was not there), a temporary directory otherwise.
base_dir() {
    if [ -n "$ROOT" ]; then
        base=/dev/local
        [ -e "$base" ] || dirs+=("$base")
    else
        base=$(mktemp -d "${TMPDIR:-/tmp}/rm.XXXXXX") || return 1
        tmpdirs+=("$base")
    fi
}

# attached PATH: waits (5 s) for PATH to be mounted.
attached() {
    local i
    for ((i = 0; i < 250; i++)); do
        mounted "$1" && return 0
        sleep 0.02
    done
    why="$1 was not attached"
    return 1
}

# claim PATH...: the check will attach these paths (cleanup makes sure they go again); it
# fails if one is there already, another resource manager's perhaps.
claim() {
    local p
    for p in "$@"; do
        ! [ -e "$p" ] || { why="$p exists already"; return 1; }
    done
    paths+=("$@")
}

# gone PATH: PATH is neither mounted nor there.
gone() { ! mounted "$1" && ! [ -e "$1" ]; }

# base_gone: the base directory is gone again if a server made it.
base_gone() { [ "${dirs[*]}" != "$base" ] || ! [ -e "$base" ]; }

# count LOG REGEX: how many lines of LOG match.
count() { grep -Ec -- "$2" "$1"; }

# more LOG REGEX N: waits (5 s) until more than N lines of LOG match REGEX.
more() {
    local i
    for ((i = 0; i < 250; i++)); do
        [ "$(count "$1" "$2")" -gt "$3" ] && return 0
        sleep 0.02
    done
    return 1
}

# child_of PID: the one child process of PID (a program under `timeout`).
child_of() { pgrep -P "$1" | head -n1; }

STATE_120='[metronome: 120 beats/min, time signature 2/4, secs-per-interval: 0.25, nanoSecs: 250000000]'

check_metronome() { # the course's metronome through cat, echo, ls and stat
    local L=$OUTDIR/metronome dev help srv n
    need metronome || return 1
    fuse_usable || return 2
    base_dir || return 1
    dev=$base/metronome help=$base/metronome-help
    claim "$dev" "$help" || return 1
    start 30 "$L.server.out" metronome "$base"
    srv=$pid
    attached "$dev" && attached "$help" || return 1
    t cat "$dev" >"$L.cat.out" 2>&1
    [ "$(cat "$L.cat.out")" = "$STATE_120" ] || { why="cat printed no state line"; return 1; }
    t bash -c "echo set 100 3 4 > $dev" 2>"$L.set.out" || { why="echo set failed"; return 1; }
    [ "$(t cat "$dev")" = '[metronome: 100 beats/min, time signature 3/4, secs-per-interval: 0.30, nanoSecs: 300000000]' ] ||
        { why="echo set 100 3 4 did not change the state line"; return 1; }
    # It beats (a character every 0.3 s), then `pause 3` silences it.
    n=$(wc -c <"$L.server.out")
    sleep 1
    [ "$(wc -c <"$L.server.out")" -gt "$n" ] || { why="the metronome does not beat"; return 1; }
    t bash -c "echo pause 3 > $dev" 2>"$L.pause.out" || { why="echo pause 3 failed"; return 1; }
    sleep 0.2
    n=$(wc -c <"$L.server.out")
    sleep 1
    [ "$(wc -c <"$L.server.out")" = "$n" ] || { why="pause 3 did not pause the beat"; return 1; }
    # Bad commands: echo fails with the handler's EINVAL, the server says why.
    if t bash -c "echo bogus > $dev" 2>"$L.bad.out"; then why="a bad command was taken"; return 1; fi
    has "$L.bad.out" "Invalid argument" || { why="a bad command is not EINVAL"; return 1; }
    await "$L.server.out" "Error - 'bogus' is not a valid command" 2 || { why="no error from the server"; return 1; }
    if t bash -c "echo set 100 7 4 > $dev" 2>>"$L.bad.out"; then why="set 100 7 4 was taken"; return 1; fi
    await "$L.server.out" "Error - invalid settings: 100 7/4" 2 || { why="no error for 7/4"; return 1; }
    # The help: read-only, whatever the mode says to root.
    t cat "$help" >"$L.help.out" 2>&1
    has "$L.help.out" "Metronome Resource Manager" && has "$L.help.out" " set <bpm> <ts-top> <ts-bottom>" ||
        { why="cat of the help printed no help"; return 1; }
    # Root passes the mode's check and meets the handler's EROFS; a user meets the mode.
    if t bash -c "echo x > $help" 2>"$L.erofs.out"; then why="a write to the help was taken"; return 1; fi
    if [ -n "$ROOT" ]; then
        has "$L.erofs.out" "Read-only file system" || { why="root's write to the help is not EROFS"; return 1; }
    else
        has "$L.erofs.out" "Permission denied" || { why="a write to the 0444 help is not EACCES"; return 1; }
    fi
    t ls -l "$dev" "$help" >"$L.ls.out" 2>&1
    grep -Eq "^-rw-rw-rw- .* $dev\$" "$L.ls.out" && grep -Eq "^-r--r--r-- .* $help\$" "$L.ls.out" ||
        { why="ls -l shows other modes"; return 1; }
    [ "$(t stat -c %a "$dev" "$help" | tr '\n' ' ')" = "666 444 " ] || { why="stat shows other modes"; return 1; }
    # Root's device serves every user (allow_other); the mode still holds for them.
    if [ -n "$ROOT" ] && user_usable; then
        [ "$(t "${USER_RUN[@]}" cat "$dev" 2>&1)" = '[metronome: 100 beats/min, time signature 3/4, secs-per-interval: 0.30, nanoSecs: 300000000]' ] ||
            { why="nobody cannot read root's metronome"; return 1; }
        if t "${USER_RUN[@]}" bash -c "echo x > $help" 2>"$L.eacces.out"; then
            why="nobody wrote the 0444 help"
            return 1
        fi
        has "$L.eacces.out" "Permission denied" || { why="nobody's write to the help is not EACCES"; return 1; }
    fi
    # quit: the server ends (dispatch_unblock), status 0, and its paths with it.
    t bash -c "echo quit > $dev" 2>"$L.quit.out" || { why="echo quit failed: $(cat "$L.quit.out")"; return 1; }
    finish "$srv" 5
    [ "$rc" = 0 ] && has "$L.server.out" "metronome: quit" || { why="quit: server status $rc"; return 1; }
    gone "$dev" && gone "$help" || { why="the paths are still there after quit"; return 1; }
    base_gone || { why="$base, made for the paths, is still there after quit"; return 1; }
}

check_metronome_kill() { # SIGKILL: the paths go at once, and a new server attaches them
    local L=$OUTDIR/metronome_kill dev help mpid t0 ms i
    need metronome || return 1
    fuse_usable || return 2
    base_dir || return 1
    dev=$base/metronome help=$base/metronome-help
    claim "$dev" "$help" || return 1
    start 30 "$L.server.out" metronome "$base"
    attached "$dev" && attached "$help" || return 1
    [ "$(t cat "$dev")" = "$STATE_120" ] || { why="cat printed no state line"; return 1; }
    mpid=$(child_of "$pid")
    [ -n "$mpid" ] || { why="no metronome process under timeout $pid"; return 1; }
    t0=$(date +%s%N)
    {
        kill -KILL "$mpid"
        for ((i = 0; i < 100; i++)); do
            gone "$dev" && gone "$help" && break
            sleep 0.01
        done
    } 2>/dev/null # (bash's "Killed" notice of timeout, which dies of it too)
    ms=$((($(date +%s%N) - t0) / 1000000))
    gone "$dev" && gone "$help" || { why="the paths are still there ${ms} ms after SIGKILL"; return 1; }
    base_gone || { why="$base, made for the paths, is still there after SIGKILL"; return 1; }
    echo "killed server's paths gone after $ms ms" >"$L.kill.out"
    finish "$pid" 2
    [ "$rc" = 137 ] || { why="the server's status is $rc, not 137 (SIGKILL)"; return 1; }
    start 30 "$L.restart.out" metronome "$base"
    attached "$dev" && attached "$help" || { why="a new server did not attach: $why"; return 1; }
    [ "$(t cat "$dev")" = "$STATE_120" ] || { why="the new server does not answer"; return 1; }
    t bash -c "echo quit > $dev" || { why="echo quit to the new server failed"; return 1; }
    finish "$pid" 5
    [ "$rc" = 0 ] && gone "$dev" && gone "$help" || { why="the new server did not quit cleanly"; return 1; }
}

check_metronome_user() { # unprivileged: refused at /dev/local, served in its own directory
    local L=$OUTDIR/metronome_user dev help srv
    need metronome || return 1
    user_usable || return 2
    user_dir || return 1
    dev=$udir/metronome help=$udir/metronome-help
    claim "$dev" "$help" /dev/local/metronome /dev/local/metronome-help || return 1
    [ -e /dev/local ] || dirs+=(/dev/local)
    AS=("${USER_RUN[@]}")
    run 10 "$L.denied.out" metronome
    [ "$rc" = 1 ] && has "$L.denied.out" "Unable to attach name /dev/local/metronome: Permission denied" ||
        { why="at /dev/local: status $rc, not EACCES"; return 1; }
    start 30 "$L.server.out" metronome "$udir"
    srv=$pid
    AS=()
    attached "$dev" && attached "$help" || return 1
    [ "$(t "${USER_RUN[@]}" cat "$dev")" = "$STATE_120" ] || { why="its user cannot read it"; return 1; }
    t "${USER_RUN[@]}" bash -c "echo set 200 4 4 > $dev" || { why="echo set failed"; return 1; }
    [ "$(t "${USER_RUN[@]}" cat "$dev")" = '[metronome: 200 beats/min, time signature 4/4, secs-per-interval: 0.15, nanoSecs: 150000000]' ] ||
        { why="echo set 200 4 4 did not change the state line"; return 1; }
    if t "${USER_RUN[@]}" bash -c "echo x > $help" 2>"$L.eacces.out"; then why="the 0444 help was written"; return 1; fi
    has "$L.eacces.out" "Permission denied" || { why="a write to the help is not EACCES"; return 1; }
    [ "$(t "${USER_RUN[@]}" stat -c %a "$dev" "$help" | tr '\n' ' ')" = "666 444 " ] ||
        { why="stat shows other modes"; return 1; }
    # Without user_allow_other in /etc/fuse.conf, a user's mount is its own (even root's
    # cat is refused, by FUSE).
    if [ -n "$ROOT" ] && ! grep -Eq '^[[:space:]]*user_allow_other' /etc/fuse.conf 2>/dev/null; then
        if t cat "$dev" >/dev/null 2>"$L.other.out"; then why="root read nobody's private mount"; return 1; fi
        has "$L.other.out" "Permission denied" || { why="root's read of nobody's mount is not EACCES"; return 1; }
    fi
    t "${USER_RUN[@]}" bash -c "echo quit > $dev" || { why="echo quit failed"; return 1; }
    finish "$srv" 5
    [ "$rc" = 0 ] && gone "$dev" && gone "$help" || { why="it did not quit cleanly (status $rc)"; return 1; }
}

check_rm_metronome() { # pulse_attach() beats counted in the dispatch loop; reads and writes
    local L=$OUTDIR/rm_metronome dev b1 b2
    need rm_metronome || return 1
    fuse_usable || return 2
    base_dir || return 1
    dev=$base/metronome
    claim "$dev" || return 1
    start 30 "$L.server.out" rm_metronome "$dev"
    attached "$dev" || return 1
    b1=$(t cat "$dev" | sed -n 's/^\[metronome: 120 beats\/min, \([0-9]*\) beats\]$/\1/p')
    sleep 1.2
    b2=$(t cat "$dev" | sed -n 's/^\[metronome: 120 beats\/min, \([0-9]*\) beats\]$/\1/p')
    [ -n "$b1" ] && [ -n "$b2" ] && [ "$b2" -ge $((b1 + 2)) ] ||
        { why="beats ${b1:-?} then ${b2:-?}: the timer's pulses do not arrive"; return 1; }
    t bash -c "echo set 90 > $dev" || { why="echo set 90 failed"; return 1; }
    t cat "$dev" | grep -q '^\[metronome: 90 beats/min' || { why="set 90 did not change it"; return 1; }
    if t bash -c "echo nonsense > $dev" 2>/dev/null; then why="a bad command was taken"; return 1; fi
}

check_rm_dir() { # a directory of files a..z, through ls, cat and stat
    local L=$OUTDIR/rm_dir d
    need rm_dir || return 1
    fuse_usable || return 2
    base_dir || return 1
    d=$base/letters
    claim "$d" || return 1
    start 30 "$L.server.out" rm_dir "$d"
    attached "$d" || return 1
    [ "$(t ls "$d" | tr '\n' ' ')" = "a b c d e f g h i j k l m n o p q r s t u v w x y z " ] ||
        { why="ls does not list a..z"; return 1; }
    [ "$(t cat "$d/q")" = "file q" ] || { why="cat $d/q"; return 1; }
    [ "$(t stat -c '%a %s %F' "$d/q")" = "444 7 regular file" ] || { why="stat of a file"; return 1; }
    [ "$(t stat -c '%a %F' "$d")" = "555 directory" ] || { why="stat of the directory"; return 1; }
    [ "$(t ls -l "$d" | grep -c '^-r--r--r-- ')" = 26 ] || { why="ls -l does not show 26 files of mode 0444"; return 1; }
    if t cat "$d/zz" 2>"$L.enoent.out"; then why="cat of a missing name worked"; return 1; fi
    has "$L.enoent.out" "No such file or directory" || { why="a missing name is not ENOENT"; return 1; }
    if [ -n "$ROOT" ] && user_usable; then
        [ "$(t "${USER_RUN[@]}" cat "$d/b")" = "file b" ] || { why="nobody cannot read $d/b"; return 1; }
    fi
}

check_rm_devctl() { # devctl(), read/write, fopen/fscanf, MsgSend(fd) and ioctl() on a device
    local L=$OUTDIR/rm_devctl dev
    need rm_devctl rm_devctl_client || return 1
    fuse_usable || return 2
    base_dir || return 1
    if [ -n "$ROOT" ]; then dev=/dev/sample; else dev=$base/sample; fi
    claim "$dev" || return 1
    start 30 "$L.server.out" rm_devctl "$dev"
    attached "$dev" || return 1
    run 10 "$L.client.out" rm_devctl_client "$dev"
    [ "$rc" = 0 ] && has "$L.client.out" "rm_devctl_client: all right" ||
        { why="rm_devctl_client exit status $rc: $(grep -m1 WRONG "$L.client.out")"; return 1; }
    [ "$(t cat "$dev")" = "value 55" ] || { why="cat does not show the value the client set"; return 1; }
    t bash -c "echo 9 > $dev" && [ "$(t cat "$dev")" = "value 9" ] || { why="echo 9 > $dev"; return 1; }
}

# closed LOG N: rm_pool reports a close after its first N, and no reader waits.
closed() {
    more "$1" 'close \(' "$2" && grep -E 'close \(' "$1" | tail -n1 | grep -q ', 0 waiting)$'
}

check_rm_pool() { # blocking reads on a thread pool: answered by a write, or unblocked
    local L=$OUTDIR/rm_pool dev i k n c
    local -a cats=()
    need rm_pool || return 1
    fuse_usable || return 2
    base_dir || return 1
    dev=$base/pool
    claim "$dev" || return 1
    start 30 "$L.server.out" rm_pool "$dev"
    attached "$dev" || return 1
    for i in 1 2 3 4; do
        setsid timeout -k 1 10 cat "$dev" >"$L.cat$i.out" 2>&1 &
        cats+=($!)
        groups+=($!)
    done
    await "$L.server.out" '\(4 waiting\)' || { why="4 cats are not all waiting"; return 1; }
    t bash -c "echo hello > $dev" || { why="echo hello failed"; return 1; }
    for i in 1 2 3 4; do
        finish "${cats[i - 1]}" 3
        [ "$rc" = 0 ] && [ "$(cat "$L.cat$i.out")" = hello ] || { why="cat $i: status $rc"; return 1; }
    done
    has "$L.server.out" "a write answered 4 readers" || { why="the write did not answer 4 readers"; return 1; }
    # A reader killed while it waits: its unblock, then its close, reach the server.
    n=$(count "$L.server.out" 'a reader waits \(1 waiting\)')
    c=$(count "$L.server.out" 'close \(')
    setsid cat "$dev" >"$L.killed.out" 2>&1 &
    k=$!
    groups+=("$k")
    more "$L.server.out" 'a reader waits \(1 waiting\)' "$n" || { why="the cat to kill is not waiting"; return 1; }
    kill -KILL "$k"
    finish "$k" 2
    [ "$rc" = 137 ] || { why="the killed cat: status $rc, not 137 (SIGKILL)"; return 1; }
    await "$L.server.out" 'unblock rcvid [0-9]+ \(1 so far, 0 waiting\)' 2 ||
        { why="no unblock for the killed cat"; return 1; }
    closed "$L.server.out" "$c" || { why="no close for the killed cat"; return 1; }
    # ... and one that `timeout` ends with SIGTERM.
    c=$(count "$L.server.out" 'close \(')
    timeout 1 cat "$dev" >/dev/null 2>&1
    rc=$?
    [ "$rc" = 124 ] || { why="timeout 1 cat: status $rc, not 124"; return 1; }
    await "$L.server.out" 'unblock rcvid [0-9]+ \(2 so far, 0 waiting\)' 2 ||
        { why="no unblock for the timed-out cat"; return 1; }
    closed "$L.server.out" "$c" || { why="no close for the timed-out cat"; return 1; }
}

check_python() { # Python's open/read/write on the metronome, fcntl.ioctl() on the device
    local L=$OUTDIR/python dev sample
    command -v python3 >/dev/null && python3 -c 'import fcntl' 2>/dev/null || { why="no python3"; return 2; }
    need metronome rm_devctl || return 1
    fuse_usable || return 2
    base_dir || return 1
    dev=$base/metronome sample=$base/sample
    claim "$dev" "$base/metronome-help" "$sample" || return 1
    start 30 "$L.metronome.out" metronome "$base"
    start 30 "$L.devctl.out" rm_devctl "$sample"
    attached "$dev" && attached "$sample" || return 1
    timeout -k 1 10 python3 - "$dev" "$sample" >"$L.py.out" 2>&1 <<'EOF'
import errno, fcntl, os, struct, sys

dev, sample = sys.argv[1:3]
with open(dev) as f:
    line = f.read()
print("read:", line.strip())
assert line.startswith("[metronome: 120 beats/min, time signature 2/4"), line
with open(dev, "w") as f:
    f.write("set 90 4 4\n")
with open(dev) as f:
    line = f.read()
print("after set 90 4 4:", line.strip())
assert "90 beats/min, time signature 4/4" in line, line
try:
    with open(dev, "w") as f:
        f.write("nonsense\n")
    sys.exit("a bad command was taken")
except OSError as e:
    print("bad command:", e.strerror)
    assert e.errno == errno.EINVAL, e

# Linux ioctl numbers: direction in bits 30-31 (write 1, read 2), size, type, number.
def ioc(direction, typ, nr, size):
    return direction << 30 | size << 16 | typ << 8 | nr

DCMD_MISC = 5
SETVAL = ioc(1, DCMD_MISC, 2, 4)  # _IOW: QNX's __DIOT(_DCMD_MISC, 2, int)
GETVAL = ioc(2, DCMD_MISC, 1, 4)  # _IOR: QNX's __DIOF(_DCMD_MISC, 1, int)
swap = lambda c: c & 0x3FFFFFFF | (c >> 30 & 1) << 31 | (c >> 31 & 1) << 30
print("ioctl %#010x reaches the device as devctl %#010x" % (SETVAL, swap(SETVAL)))
print("ioctl %#010x reaches the device as devctl %#010x" % (GETVAL, swap(GETVAL)))
fd = os.open(sample, os.O_RDWR)
fcntl.ioctl(fd, SETVAL, struct.pack("i", 77))
value = struct.unpack("i", fcntl.ioctl(fd, GETVAL, bytes(4)))[0]
os.close(fd)
print("ioctl GETVAL:", value)
assert value == 77, value
with open(sample) as f:
    print("read:", f.read().strip())
print("python: all right")
EOF
    rc=$?
    [ "$rc" = 0 ] && has "$L.py.out" "python: all right" ||
        { why="python3 exit status $rc: $(tail -n1 "$L.py.out")"; return 1; }
}

# ---- run them -------------------------------------------------------------------------
checks=(chid1 chid2 names_connect names_noconnect peers pulse_only unblock pulses pulse_timer
    atomic_threads headers_only thread_pool metronome metronome_kill metronome_user rm_metronome
    rm_dir rm_devctl rm_pool python)
passed=0
failed=0
skipped=0
for c in "${checks[@]}"; do
    why=
    "check_$c"
    case $? in
    0)
        echo "PASS $c"
        passed=$((passed + 1))
        ;;
    2)
        echo "SKIP $c: $why"
        skipped=$((skipped + 1))
        ;;
    *)
        echo "FAIL $c: $why"
        failed=$((failed + 1))
        for f in "$OUTDIR/$c".*out; do
            [ -s "$f" ] || continue
            echo "    --- $(basename "$f")"
            head -n 20 "$f" | sed 's/^/    | /'
        done
        ;;
    esac
    cleanup
done

echo "programs: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
