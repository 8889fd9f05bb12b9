#!/usr/bin/env bash
# demo.sh BINDIR - run the QNX-style server and client as two Linux processes, then
# the pair that finds each other by name (name_server, name_client).
#
# BINDIR holds (or receives) the `server`, `client`, `name_server` and
# `name_client` executables.  If one of them is missing, all are compiled there
# from examples/*.c with
#     ${CC:-cc} -O2 -Wall -Wextra -Werror $(pkg-config --cflags --libs neutrino)
# (set PKG_CONFIG_PATH / LD_LIBRARY_PATH for an uninstalled libneutrino).
# Set REBUILD=1 to force compiling.
#
# Steps: start the server in the background, read "server pid P chid C" from its
# stdout (5 s limit), run `client P C` (10 s limit), wait for the server to exit
# by itself (10 s limit), then kill whatever is left.  Then the same with
# `name_server NAME` (it announces "name_server: attached NAME") and
# `name_client NAME`.  The exit status is non-zero if a client or a server failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
bindir=${1:-}
if [ -z "$bindir" ]; then
    echo "usage: $0 BINDIR" >&2
    exit 2
fi
mkdir -p "$bindir" || exit 2
bindir=$(cd "$bindir" && pwd)

# ---- build if needed --------------------------------------------------------
progs="server client name_server name_client"
missing=0
for prog in $progs; do
    [ -x "$bindir/$prog" ] || missing=1
done
if [ "${REBUILD:-0}" != 0 ] || [ "$missing" != 0 ]; then
    flags=$(pkg-config --cflags --libs neutrino) || {
        echo "demo: pkg-config cannot find neutrino (set PKG_CONFIG_PATH)" >&2
        exit 2
    }
    for prog in $progs; do
        # shellcheck disable=SC2086
        ${CC:-cc} -O2 -Wall -Wextra -Werror -o "$bindir/$prog" "$here/$prog.c" $flags || {
            echo "demo: compiling $prog.c failed" >&2
            exit 2
        }
    done
    echo "demo: built $progs in $bindir"
fi

# ---- run --------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/neutrino-demo.XXXXXX") || exit 2
server_out=$tmp/server.out
server_job=

cleanup() {
    if [ -n "$server_job" ] && kill -0 "$server_job" 2>/dev/null; then
        kill -KILL "$server_job" 2>/dev/null
        wait "$server_job" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bindir/server" >"$server_out" 2>&1 &
server_job=$!

# Wait (at most 5 s) for the line "server pid <pid> chid <chid>".
spid= schid=
for _ in $(seq 1 100); do
    if read -r w1 w2 p w4 c _ < <(grep -m1 '^server pid ' "$server_out" 2>/dev/null) \
        && [ "$w1 $w2 $w4" = "server pid chid" ]; then
        spid=$p schid=$c
        break
    fi
    if ! kill -0 "$server_job" 2>/dev/null; then
        break
    fi
    sleep 0.05
done
if [ -z "$spid" ]; then
    echo "demo: the server did not announce its pid/chid within 5 s; its output:" >&2
    sed 's/^/  | /' "$server_out" >&2
    exit 1
fi
echo "demo: server is pid $spid, chid $schid"
if [ "$spid" != "$server_job" ]; then
    echo "demo: warning: the server reports pid $spid but was started as pid $server_job" >&2
fi

timeout -s KILL 10 "$bindir/client" "$spid" "$schid"
client_rc=$?
[ "$client_rc" -eq 137 ] && echo "demo: client timed out (killed after 10 s)" >&2

# Waits (at most 10 s) for the server job to exit after its client asked it to;
# sets server_rc (124 if it had to be killed).
await_server() {
    server_rc=
    for _ in $(seq 1 200); do
        if ! kill -0 "$server_job" 2>/dev/null; then
            wait "$server_job"
            server_rc=$?
            break
        fi
        sleep 0.05
    done
    if [ -z "$server_rc" ]; then
        echo "demo: $1 is still running 10 s after its client finished; killing it" >&2
        kill -KILL "$server_job" 2>/dev/null
        wait "$server_job" 2>/dev/null
        server_rc=124
    fi
    server_job=
}
await_server server

echo "demo: server output:"
sed 's/^/  | /' "$server_out"
echo "demo: client exit status $client_rc, server exit status $server_rc"
first_server_rc=$server_rc

# ---- the pair that finds each other by name ---------------------------------
name=neutrino-demo/$$
name_out=$tmp/name_server.out
"$bindir/name_server" "$name" >"$name_out" 2>&1 &
server_job=$!
attached=
for _ in $(seq 1 100); do
    if grep -q "^name_server: attached $name " "$name_out" 2>/dev/null; then
        attached=1
        break
    fi
    kill -0 "$server_job" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$attached" ]; then
    echo "demo: name_server did not attach $name within 5 s; its output:" >&2
    sed 's/^/  | /' "$name_out" >&2
    exit 1
fi
echo "demo: name_server holds the name $name"

timeout -s KILL 10 "$bindir/name_client" "$name"
name_client_rc=$?
await_server name_server
name_server_rc=$server_rc

echo "demo: name_server output:"
sed 's/^/  | /' "$name_out"
echo "demo: name_client exit status $name_client_rc, name_server exit status $name_server_rc"

if [ "$client_rc" -ne 0 ] || [ "$first_server_rc" -ne 0 ] || [ "$name_client_rc" -ne 0 ] \
    || [ "$name_server_rc" -ne 0 ]; then
    echo "demo: FAILED"
    exit 1
fi
echo "demo: OK"
exit 0
