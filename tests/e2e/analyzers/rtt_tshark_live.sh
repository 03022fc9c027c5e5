#!/usr/bin/env bash
# rtt_tshark_live.sh — the rtt-bdp analyzer's ACK RTT samples and initial RTT against
# tshark's on real traffic: curl <-> nginx through a router namespace (tests/tools/netns.sh:
# TSO/GSO/GRO off on every veth), once clean (0 % loss) and once with 1 % random loss.
# tcpdump captures on the client's veth; two parallel curl keep-alive connections each
# download two 4 MB files and POST 2 MB. Each capture is read by stethoscope with
# rtt-bdp's samples_log on, and rtt_tshark.py checks that every sample equals tshark's
# tcp.analysis.ack_rtt on the same ACK, that every tshark sample we lack is one Karn's
# rule excluded or one whose segment the ring had no room for, and that initial_rtt is
# equal per stream. Root only (else SKIP). Bounded: curl --max-time 30, tcpdump stopped.
# Usage: rtt_tshark_live.sh STETHOSCOPE SOURCE_DIR WORKDIR
set -u
bin=$1 src=$2 work=$3
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: rtt_tshark_live needs root for network namespaces"
    exit 0
fi
if ! command -v tshark >/dev/null 2>&1; then
    echo "SKIP: rtt_tshark_live needs tshark"
    exit 0
fi
STH_NS_PREFIX="sthrtt$$"
# shellcheck source=tests/tools/netns.sh
source "$src/tests/tools/netns.sh"
tcpdump_pid=
cleanup() {
    [ -n "$tcpdump_pid" ] && sth_tcpdump_stop "$tcpdump_pid"
    sth_nginx_stop
    sth_ns_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# make_capture OUT.pcap LOSS_PERCENT
make_capture() {
    local out=$1 loss=$2 rc=0
    sth_ns_up "$loss" || return 1
    mkdir -p "$work/srv/www"
    head -c 4000000 /dev/urandom >"$work/srv/www/a.bin"
    head -c 4100000 /dev/urandom >"$work/srv/www/b.bin"
    head -c 2000000 /dev/urandom >"$work/upload.bin"
    sth_nginx_start "$STH_NS_SRV" "$work/srv" 0 || return 1
    ip netns exec "$STH_NS_CLI" tcpdump -i "$STH_NS_IF" -n -s 0 -B 32768 -w "$out" tcp \
        2>"$out.tcpdump" &
    tcpdump_pid=$!
    sth_tcpdump_wait_ready "$out.tcpdump" || return 1
    local base="http://$STH_SRV_IP" pids=() p
    for _ in 1 2; do
        ip netns exec "$STH_NS_CLI" curl -sS --fail --max-time 30 -o /dev/null "$base/a.bin" \
            -o /dev/null "$base/b.bin" --next -sS --fail --max-time 30 -H 'Expect:' \
            --data-binary "@$work/upload.bin" -o /dev/null "$base/upload" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    # Wait (at most 5 s) until every client socket to port 80 has finished its close
    # (only TIME-WAIT left): the last FIN and ACK have crossed the captured veth.
    local _i
    for _i in $(seq 1 100); do
        [ -z "$(ip netns exec "$STH_NS_CLI" ss -Htn state established state fin-wait-1 \
            state fin-wait-2 state close-wait state last-ack state closing '( dport = :80 )')" ] && break
        sleep 0.05
    done
    sth_tcpdump_stop "$tcpdump_pid"
    tcpdump_pid=
    sth_nginx_stop
    [ "$rc" -eq 0 ] || { echo "curl failed" >"$out.why"; return 1; }
    [ "$(sth_tcpdump_drops "$out.tcpdump")" = 0 ] || { echo "tcpdump dropped packets" >"$out.why"; return 1; }
}

PY=${PYTHON3:-python3}
rm -rf "$work" && mkdir -p "$work"
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

for loss in 0 1; do
    name=loss$loss
    if ! make_capture "$work/$name.pcap" "$loss" >"$work/$name.make.log" 2>&1; then
        fail "$name: making the capture: $(cat "$work/$name.pcap.why" 2>/dev/null) $(tail -3 "$work/$name.make.log")"
        continue
    fi
    pass "$name: capture made ($(tshark -n -r "$work/$name.pcap" -T fields -e frame.number 2>/dev/null | wc -l) packets)"
    cat >"$work/$name.json" <<EOF
{"capture": {"mode": "filter", "stats_interval_sec": 0},
 "analyzers": {"rtt-bdp": {"interval_sec": 0, "samples_log": "$work/$name.samples"}},
 "control": {"enabled": false}}
EOF
    rm -f "$work/$name.samples"
    if ! timeout 120 "$bin" --log-level warning -c "$work/$name.json" -r "$work/$name.pcap" \
        >"$work/$name.events" 2>"$work/$name.err"; then
        fail "$name: stethoscope: $(tail -3 "$work/$name.err")"
        continue
    fi
    out=$("$PY" "$src/tests/e2e/analyzers/rtt_tshark.py" --events "$work/$name.events" \
        --samples "$work/$name.samples" "$work/$name.pcap" 2>&1)
    while IFS= read -r line; do
        case $line in
            PASS:*) pass "$name: ${line#PASS: }" ;;
            FAIL:*) fail "$name: ${line#FAIL: }" ;;
            *) echo "$line" ;;
        esac
    done <<<"$out"
    # What the analyzer concluded, for the record (the values depend on the run).
    "$PY" - "$work/$name.events" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") != "session_closed" or "rtt" not in e:
        continue
    r, l = e["rtt"], e["limits"]
    print("  session %s: min RTT %s us, server ack %s, client ack %s, ts %s/%s, "
          "responses goodput %s b/s BDP %s B, limits responses %s requests %s" % (
              e["session"], r["min_rtt_us"], r["server"]["ack"], r["client"]["ack"].get("count"),
              r["server"]["ts"], r["client"]["ts"], r["responses"]["goodput_bps"],
              r["responses"]["bdp_bytes"], l["responses"], l["requests"]))
PY
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
