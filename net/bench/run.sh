#!/bin/bash
# net/bench/run.sh STAGE_DIR NETPROBE [JSON]: remote round trips through both gateways next to
# a plain TCP ping-pong (blocking sockets), a bare Zenoh put ping-pong (what the gateway's calls
# use, with its Zenoh settings, net/src/tuning.rs) and the same calls through two relays that
# pass them over one TCP connection (the gateway's shape with no engine, its floor; see
# remote_rtt.c) over the same veth link between two network namespaces, in one run,
# alternating ROUNDS times (3 by default). Prints every row, then the
# medians over the rounds and the remote rows' ratios to TCP's against issue 15's targets
# (round trip within 1.5x TCP's, 1 MiB throughput at least 80% of TCP's); writes them to JSON
# if given. Needs root (network namespaces); removes what it made whatever happens.
set -u -o pipefail
STAGE=$1 PROBE=$2 JSON=${3:-}
ROUNDS=${ROUNDS:-3}
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "net/bench: skipped: the remote rows need root and ip (iproute2) to make network namespaces"
    exit 0
fi
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
# Root runs the gateways here (namespaces need it): --as-root says that is meant.
ip netns exec $A "$STAGE/bin/neutrino-netd" --as-root -n alpha --no-scout -l tcp/10.77.0.1:7447 & pids+=($!)
ip netns exec $B "$STAGE/bin/neutrino-netd" --as-root -n beta --no-scout -l tcp/10.77.0.2:7447 -c tcp/10.77.0.1:7447 & pids+=($!)
ip netns exec $B "$OUT/remote_rtt" serve > "$OUT/server" & pids+=($!)
ip netns exec $B "$PROBE" zenoh-pp-serve tcp/10.77.0.2:7448 & pids+=($!)
sleep 1.5
read -r spid schid < "$OUT/server" || { echo "net/bench: the echo server did not start"; exit 1; }
for round in $(seq "$ROUNDS"); do
    for probe in "$OUT/remote_rtt tcp 10.77.0.2 9000" "$PROBE zenoh-pp tcp/10.77.0.2:7448" \
                 "$OUT/remote_rtt beta $spid $schid" "$OUT/remote_rtt relay 10.77.0.2 9001"; do
        # The TCP peers serve one connection each, this row's: the relay's stands for the
        # serving gateway, and does not spin either.
        case $probe in
        *" tcp "*) ip netns exec $B timeout 120 "$OUT/remote_rtt" tcp-serve 9000 & pids+=($!) ;;
        *" relay "*) ip netns exec $B env NEUTRINO_SPIN_US=0 timeout 120 "$OUT/remote_rtt" tcp-serve 9001 "$spid" "$schid" &
                     pids+=($!) ;;
        esac
        ip netns exec $A timeout 120 $probe | sed "s/^/$round /" | tee -a "$OUT/rows" || exit 1
    done
done
# Rows are "ROUND ENGINE req N B rep N B n N median US us mean US us p99 US us MBPS MB/s".
awk -v json="$JSON" '
function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ key = $2 " " $4; med[key] = med[key] " " $12; rate[key] = rate[key] " " $20; count[key]++ }
END {
    # A row that did not come in every round is a failed run, not a zero.
    split("remote tcp zpp relay", engines, " "); split("16 65536 1048576", order, " ")
    for (e = 1; e <= 4; e++) for (k = 1; k <= 3; k++) if (count[engines[e] " " order[k]] != ROUNDS) {
        printf "net/bench: %s %s B: %d of %s rounds\n", engines[e], order[k], count[engines[e] " " order[k]], ROUNDS > "/dev/stderr"
        exit 1
    }
    sizes["16"] = "16 B round trip"; sizes["65536"] = "64 KiB round trip"; sizes["1048576"] = "1 MiB"
    printf "\nmedians of %s rounds (us; MB/s for 1 MiB):\n", ROUNDS
    printf "%-18s %10s %10s %10s %10s %12s %12s  %s\n", "row", "remote", "tcp", "zenoh", "relay", "relay/tcp", "remote/tcp", "target"
    out = "{\n  \"rounds\": " ROUNDS ",\n  \"rows\": ["
    sep = ""
    for (k = 1; k <= 3; k++) {
        s = order[k]
        if (s == "1048576") {
            r = median(rate["remote " s]); t = median(rate["tcp " s]); z = median(rate["zpp " s]); f = median(rate["relay " s])
            ratio = t > 0 ? r / t : 0; target = ">= 0.80"; ok = ratio >= 0.8
        } else {
            r = median(med["remote " s]); t = median(med["tcp " s]); z = median(med["zpp " s]); f = median(med["relay " s])
            ratio = t > 0 ? r / t : 0; target = "<= 1.50"; ok = ratio > 0 && ratio <= 1.5
        }
        floor = t > 0 ? f / t : 0
        printf "%-18s %10.1f %10.1f %10.1f %10.1f %12.2f %12.2f  %s %s\n", sizes[s], r, t, z, f, floor, ratio, target, ok ? "met" : "missed"
        out = out sep sprintf("\n    {\"row\": \"%s\", \"remote\": %.1f, \"tcp\": %.1f, \"zenoh\": %.1f, \"relay\": %.1f, \"relay_ratio\": %.3f, \"ratio\": %.3f, \"target\": \"%s\", \"met\": %s}", sizes[s], r, t, z, f, floor, ratio, target, ok ? "true" : "false")
        sep = ","
    }
    out = out "\n  ]\n}\n"
    if (json != "") printf "%s", out > json
}' ROUNDS="$ROUNDS" "$OUT/rows"
