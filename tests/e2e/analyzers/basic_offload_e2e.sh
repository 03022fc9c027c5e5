#!/usr/bin/env bash
# basic_offload_e2e.sh — the mss and mtu analyzers on real captures, with and without
# segmentation offload on the sending host, checked against tshark.
#
#   basic_offload_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# curl in "cli" downloads 1 MiB from nginx in "srv" (tests/tools/netns.sh, direct
# topology, MTU 1500); tcpdump captures on the server's veth, i.e. on the sending host of
# the response. Twice:
#   off  offloads off (netns.sh's default): the capture holds what crossed the wire, so
#        no response segment exceeds the client's MSS and no IP packet exceeds 1500;
#   on   TSO/GSO (with scatter-gather and TX checksum) on the server's veth: the sniffer
#        sees the stack's super-segments, larger than the client's MSS.
# stethoscope reads each capture; for the one session, per direction:
# mss.responses.oversized_segments equals tshark's count of server segments with
# tcp.len > the MSS of the client's SYN (> 0 with offload, 0 without), mss.client equals
# that MSS, largest_payload / largest_tcp_payload equal tshark's largest tcp.len and
# largest_ip_packet its largest ip.len. Root only (SKIP otherwise).
set -u
LIB="$(cd "$(dirname "$0")/../live" && pwd)/lib.sh"
source "$LIB"
live_init offload "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 120
for tool in tcpdump tshark; do
    command -v "$tool" >/dev/null 2>&1 || { live_fail "missing tool: $tool"; live_finish; }
done

live_origin_up
cat >"$LIVE_WORK/read.json" <<EOF
{"capture": {"mode": "filter"}, "control": {"enabled": false},
 "analyzers": {"rtt-bdp": {"enabled": false}, "stall": {"enabled": false}}}
EOF

# tshark_max FILE FILTER FIELD: the largest value of FIELD over packets matching FILTER.
tshark_max() {
    tshark -r "$1" -Y "$2" -T fields -e "$3" 2>/dev/null | sort -n | tail -1
}

# capture MODE: one download captured on the server's veth into $LIVE_WORK/MODE.pcap.
capture() {
    local mode=$1 pid
    ip netns exec "$STH_NS_SRV" tcpdump -i "$STH_NS_IF" -n -s 0 -w "$LIVE_WORK/$mode.pcap" \
        'tcp port 80' 2>"$LIVE_WORK/$mode.tcpdump" &
    pid=$!
    sth_tcpdump_wait_ready "$LIVE_WORK/$mode.tcpdump" || return 1
    live_curl "$mode" -o /dev/null "http://$STH_SRV_IP/m1.bin" || live_curl_verdict "$mode"
    sth_tcpdump_stop "$pid"
}

# check MODE: stethoscope's mss and mtu of the capture against tshark's.
check() {
    local mode=$1 pcap="$LIVE_WORK/$1.pcap" mss over want_over
    "$STH_BIN" -c "$LIVE_WORK/read.json" -r "$pcap" >"$LIVE_WORK/$mode.events" \
        2>"$LIVE_WORK/$mode.stderr" || { live_fail "$mode: stethoscope failed: $(tail -3 "$LIVE_WORK/$mode.stderr")"; return; }
    mss=$(tshark -r "$pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields \
        -e tcp.options.mss_val 2>/dev/null | head -1)
    over=$(tshark -r "$pcap" -Y "tcp.srcport == 80 && tcp.len > $mss" 2>/dev/null | wc -l)
    if [[ $mode == on ]]; then want_over="> 0"; else want_over="== 0"; fi
    "$LIVE_PYTHON" - "$LIVE_WORK/$mode.events" "$mode" "$mss" "$over" "$want_over" \
        "$(tshark_max "$pcap" 'tcp.srcport == 80' tcp.len)" \
        "$(tshark_max "$pcap" 'tcp.srcport == 80' ip.len)" \
        "$(tshark_max "$pcap" 'tcp.dstport == 80' tcp.len)" \
        "$(tshark_max "$pcap" 'tcp.dstport == 80' ip.len)" <<'PY'
import json, sys
events, mode, mss, over, want_over = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
resp_payload, resp_ip, req_payload, req_ip = (int(x) for x in sys.argv[6:10])
closed = [json.loads(l) for l in open(events) if '"session_closed"' in l]
problems = []
if len(closed) != 1:
    problems.append("%d session_closed events, want 1" % len(closed))
else:
    e = closed[0]
    m, t = e.get("mss", {}), e.get("mtu", {})
    got = {
        "mss.client": (m.get("client"), mss),
        "mss.responses.oversized_segments": (m.get("responses", {}).get("oversized_segments"), over),
        "mss.responses.largest_payload": (m.get("responses", {}).get("largest_payload"), resp_payload),
        "mss.requests.largest_payload": (m.get("requests", {}).get("largest_payload"), req_payload),
        "mtu.responses.largest_tcp_payload": (t.get("responses", {}).get("largest_tcp_payload"), resp_payload),
        "mtu.responses.largest_ip_packet": (t.get("responses", {}).get("largest_ip_packet"), resp_ip),
        "mtu.requests.largest_ip_packet": (t.get("requests", {}).get("largest_ip_packet"), req_ip),
        "mss has a note": ("note" in m, over > 0),
    }
    problems += ["%s: stethoscope %r, tshark %r" % (k, a, b) for k, (a, b) in got.items() if a != b]
    if (over > 0) != (want_over == "> 0"):
        problems.append("tshark counts %d oversized server segments, want %s" % (over, want_over))
    if (mode == "on") != (resp_ip > 1500):
        problems.append("largest server IP packet %d with offload %s" % (resp_ip, mode))
print("--- %s %s: %d server segments above the client's MSS %d, largest IP packet %d%s" % (
    "FAIL" if problems else "PASS", mode, over, mss, resp_ip,
    "".join("\n     " + p for p in problems)))
sys.exit(1 if problems else 0)
PY
    if [[ $? -eq 0 ]]; then live_pass "offload $mode matches tshark"; else live_fail "offload $mode"; fi
}

capture off || live_fail "off: capture failed"
check off
ip netns exec "$STH_NS_SRV" ethtool -K "$STH_NS_IF" sg on tx on tso on gso on >/dev/null 2>&1 ||
    live_fail "cannot switch TSO/GSO on: $(ip netns exec "$STH_NS_SRV" ethtool -K "$STH_NS_IF" sg on tx on tso on gso on 2>&1)"
capture on || live_fail "on: capture failed"
check on
live_log "done in $(live_elapsed)s"
live_finish
