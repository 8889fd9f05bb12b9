#!/bin/bash
# net/bench/run.sh STAGE_DIR NETPROBE: the remote rows (through both gateways) and netprobe's
# TCP and bare Zenoh rows, across one veth link between two network namespaces, in one run.
# Needs root; removes what it made whatever happens.
set -u
STAGE=$1 PROBE=$2
A=lnbench$$a B=lnbench$$b
OUT=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; rm -rf "$OUT"; }
trap cleanup EXIT
ip netns add $A && ip netns add $B || exit 1
ip link add lnb$$a type veth peer name lnb$$b
ip link set lnb$$a netns $A; ip link set lnb$$b netns $B
ip -n $A addr add 10.77.0.1/24 dev lnb$$a; ip -n $B addr add 10.77.0.2/24 dev lnb$$b
for n in $A $B; do ip -n $n link set lo up; done
ip -n $A link set lnb$$a up; ip -n $B link set lnb$$b up
export LD_LIBRARY_PATH=$STAGE/lib
cc -O2 -Wall -Wextra -Werror -o "$OUT/remote_rtt" "$(dirname "$0")/remote_rtt.c" \
    $(PKG_CONFIG_PATH=$STAGE/lib/pkgconfig pkg-config --cflags --libs neutrino) || exit 1
ip netns exec $A "$STAGE/bin/neutrino-netd" -n alpha --no-scout -l tcp/10.77.0.1:7447 & pids+=($!)
ip netns exec $B "$STAGE/bin/neutrino-netd" -n beta --no-scout -l tcp/10.77.0.2:7447 -c tcp/10.77.0.1:7447 & pids+=($!)
ip netns exec $B "$OUT/remote_rtt" serve > "$OUT/server" & pids+=($!)
ip netns exec $B "$PROBE" tcp-serve 10.77.0.2:9000 & pids+=($!)
ip netns exec $B "$PROBE" zenoh-serve-cb tcp/10.77.0.2:7448 & pids+=($!)
sleep 1.5
read -r spid schid < "$OUT/server"
for round in 1 2; do
    ip netns exec $A timeout 120 "$PROBE" tcp 10.77.0.2:9000
    ip netns exec $A timeout 120 "$PROBE" zenoh-sync tcp/10.77.0.2:7448
    ip netns exec $A timeout 120 "$OUT/remote_rtt" beta "$spid" "$schid"
done
