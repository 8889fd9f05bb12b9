#!/usr/bin/env bash
# net-demo.sh BINDIR - the name_server/name_client pair on two nodes: two network namespaces
# joined by a veth link stand for two machines, each runs its gateway neutrino-netd (node
# "alpha" and node "beta"); name_server attaches a global name on beta and name_client,
# unchanged QNX code, finds it from alpha and talks to it across the link.
#
# BINDIR holds name_server and name_client (demo.sh builds them); neutrino-netd is found on
# PATH. Making namespaces needs root and ip (iproute2): without them the demo says so and
# exits 0. Everything it starts is killed and the namespaces removed whatever happens.
set -u
bindir=${1:?usage: $0 BINDIR}
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v neutrino-netd >/dev/null; then
    echo "net-demo: skipped: two nodes on one machine need root, ip (iproute2) and neutrino-netd on PATH"
    exit 0
fi
A=lndemo$$a B=lndemo$$b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/neutrino-net-demo.XXXXXX") || exit 2
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del $A 2>/dev/null
    ip netns del $B 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add $A && ip netns add $B || exit 1
ip link add lnd$$a type veth peer name lnd$$b || exit 1
ip link set lnd$$a netns $A && ip link set lnd$$b netns $B || exit 1
ip -n $A addr add 10.78.0.1/24 dev lnd$$a && ip -n $B addr add 10.78.0.2/24 dev lnd$$b || exit 1
for n in $A $B; do ip -n $n link set lo up; done
ip -n $A link set lnd$$a up && ip -n $B link set lnd$$b up || exit 1

# The gateways (as root here, to make the namespaces: --as-root says that is meant). On a LAN
# they find each other by themselves; between namespaces they are told where to listen.
ip netns exec $A neutrino-netd --as-root -n alpha -l tcp/10.78.0.1:7447 --no-scout >"$tmp/alpha.log" 2>&1 &
pids+=($!)
ip netns exec $B neutrino-netd --as-root -n beta -l tcp/10.78.0.2:7447 -c tcp/10.78.0.1:7447 --no-scout \
    >"$tmp/beta.log" 2>&1 &
pids+=($!)
echo "net-demo: gateways alpha ($A) and beta ($B) started"

# Waits (at most 10 s) until COMMAND succeeds.
within_10s() {
    for _ in $(seq 1 100); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
gateway_up() { ip netns exec "$1" grep -q '@neutrino.name/neutrino/netmgr$' /proc/net/unix; }
within_10s gateway_up $B || { echo "net-demo: beta's gateway did not start:"; sed 's/^/  | /' "$tmp/beta.log"; exit 1; }

name=neutrino-demo/net$$
ip netns exec $B "$bindir/name_server" -g "$name" >"$tmp/server.out" 2>&1 &
server=$!
pids+=($server)
within_10s grep -q "^name_server: attached $name " "$tmp/server.out" || {
    echo "net-demo: name_server did not attach the global name $name on beta:"
    sed 's/^/  | /' "$tmp/server.out"
    exit 1
}
echo "net-demo: on beta, $(head -1 "$tmp/server.out" | sed 's/^name_server: //')"

# The name reaches alpha once the gateways have met: until then name_open finds nothing.
for _ in $(seq 1 100); do
    ip netns exec $A timeout -s KILL 10 "$bindir/name_client" -g "$name" >"$tmp/client.out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || grep -q 'name_open.*failed' "$tmp/client.out" || break
    [ $rc -eq 0 ] && break
    sleep 0.1
done
echo "net-demo: on alpha, name_client:"
sed 's/^/  | /' "$tmp/client.out"
for _ in $(seq 1 100); do kill -0 $server 2>/dev/null || break; sleep 0.1; done
echo "net-demo: on beta, name_server:"
sed 's/^/  | /' "$tmp/server.out"
if [ "$rc" -ne 0 ] || kill -0 $server 2>/dev/null || ! wait $server; then
    echo "net-demo: FAILED"
    exit 1
fi
echo "net-demo: OK"
