#!/usr/bin/env bash
# make_lossy_capture.sh — a real HTTP capture with random packet loss (Linux, root).
#
#   make_lossy_capture.sh OUT.pcap [LOSS_PERCENT=1]
#
# Builds client <-> router <-> server namespaces (tests/tools/netns.sh); the router drops
# LOSS_PERCENT of the forwarded TCP packets at random, both ways. nginx serves in the
# server namespace; in the client namespace one curl process, one HTTP/1.1 keep-alive
# connection per URL set, downloads four files of 3-6 MB and POSTs 4 MB, and a second
# curl does the same in parallel (two concurrent connections). tcpdump captures on the
# client's veth, so the capture shows loss as the client sees it: the server's
# retransmissions arrive, segments arrive out of order after a hole, the client's own
# segments that the router dropped appear once and then again.
#
# Fails if tcpdump reports dropped packets (the capture must miss only what the network
# lost). Prints a summary: packets, tcpdump counters, packets dropped by the router, and
# tshark's tcp.analysis counts. Everything is bounded: curl --max-time, total < 60 s.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 OUT.pcap [LOSS_PERCENT=1]" >&2
    exit 2
fi
out=$1
loss=${2:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STH_NS_PREFIX=${STH_NS_PREFIX:-sthloss$$}
# shellcheck source=tests/tools/netns.sh
source "$here/netns.sh"
work=$(mktemp -d /tmp/sth-lossy.XXXXXX)
tcpdump_pid=
cleanup() {
    set +e
    [[ -n $tcpdump_pid ]] && sth_tcpdump_stop "$tcpdump_pid"
    sth_nginx_stop
    sth_ns_down
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s.%N)
sth_ns_up "$loss"

# Content: deterministic pseudo-random files (incompressible, like real downloads).
mkdir -p "$work/srv/www"
i=0
for mb in 3 4 5 6; do
    head -c $((mb * 1000 * 1000 + i * 777)) /dev/urandom >"$work/srv/www/f$i.bin"
    i=$((i + 1))
done
head -c 4000000 /dev/urandom >"$work/upload.bin"
sth_nginx_start "$STH_NS_SRV" "$work/srv" 0

mkdir -p "$(dirname "$out")"
rm -f "$out"
ip netns exec "$STH_NS_CLI" tcpdump -i "$STH_NS_IF" -n -s 0 -B 32768 -Z root -w "$out" tcp \
    2>"$work/tcpdump.err" &
tcpdump_pid=$!
sth_tcpdump_wait_ready "$work/tcpdump.err"

base="http://$STH_SRV_IP"
client() {
    # One keep-alive connection: four GETs and a POST (no Expect: 100-continue, so the
    # body follows the headers at once, as most clients send it).
    ip netns exec "$STH_NS_CLI" curl -sS --fail --max-time 40 --connect-timeout 10 \
        -o /dev/null "$base/f0.bin" -o /dev/null "$base/f1.bin" \
        -o /dev/null "$base/f2.bin" -o /dev/null "$base/f3.bin" \
        --next -sS --fail --max-time 40 -H 'Expect:' --data-binary "@$work/upload.bin" \
        -o /dev/null "$base/upload" \
        -w 'POST %{http_code}, %{size_upload} bytes up, %{num_connects} new connections for it\n'
}
client >"$work/curl1.out" 2>&1 &
c1=$!
client >"$work/curl2.out" 2>&1 &
c2=$!
rc=0
wait "$c1" || rc=1
wait "$c2" || rc=1
sleep 0.3  # the last ACKs and FINs
sth_tcpdump_stop "$tcpdump_pid"
tcpdump_pid=
dropped_by_router=$(sth_ns_loss_dropped)
if ((rc)); then
    echo "make_lossy_capture: curl failed:" >&2
    cat "$work/curl1.out" "$work/curl2.out" >&2
    exit 1
fi

drops=$(sth_tcpdump_drops "$work/tcpdump.err") || {
    echo "make_lossy_capture: no tcpdump summary: $(cat "$work/tcpdump.err")" >&2
    exit 1
}
captured=$(sth_tcpdump_captured "$work/tcpdump.err")
if [[ $drops -ne 0 ]]; then
    echo "make_lossy_capture: tcpdump dropped $drops packets; the capture is not usable" >&2
    exit 1
fi

count() { tshark -n -r "$out" -Y "$1" -T fields -e frame.number 2>/dev/null | wc -l; }
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo "capture:               $out ($(stat -c %s "$out") bytes, made in ${elapsed} s)"
echo "loss rule:             $loss % of forwarded TCP packets; router dropped $dropped_by_router"
echo "tcpdump:               $captured packets captured, $drops dropped"
echo "packets in file:       $(count frame)"
echo "tcp sessions (SYN):    $(count 'tcp.flags.syn == 1 && tcp.flags.ack == 0')"
echo "tcp.analysis.retransmission:       $(count tcp.analysis.retransmission)"
echo "tcp.analysis.fast_retransmission:  $(count tcp.analysis.fast_retransmission)"
echo "tcp.analysis.spurious_retransmission: $(count tcp.analysis.spurious_retransmission)"
echo "tcp.analysis.out_of_order:         $(count tcp.analysis.out_of_order)"
echo "tcp.analysis.lost_segment:         $(count tcp.analysis.lost_segment)"
echo "tcp.analysis.duplicate_ack:        $(count tcp.analysis.duplicate_ack)"
echo "curl: $(tr '\n' ' ' <"$work/curl1.out") / $(tr '\n' ' ' <"$work/curl2.out")"
