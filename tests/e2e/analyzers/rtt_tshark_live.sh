#!/usr/bin/env bash
# rtt_tshark_live.sh — the rtt-bdp analyzer's ACK RTT samples and initial RTT against
# tshark's on real traffic: curl <-> nginx through a router namespace, once clean (0 %
# loss) and once with 1 % random loss (tests/tools/make_lossy_capture.sh makes both
# captures: tcpdump on the client's veth, TSO/GSO/GRO off). Each capture is read by
# stethoscope with rtt-bdp's samples_log on, and rtt_tshark.py checks that every sample
# equals tshark's tcp.analysis.ack_rtt on the same ACK, that every tshark sample we lack
# is one Karn's rule excluded or one whose segment the ring had no room for, and that
# initial_rtt is equal per stream. Root only (else SKIP).
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
PY=${PYTHON3:-python3}
rm -rf "$work" && mkdir -p "$work"
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

for loss in 0 1; do
    name=loss$loss
    if ! STH_NS_PREFIX="sthrtt$$" timeout 120 "$src/tests/tools/make_lossy_capture.sh" \
        "$work/$name.pcap" "$loss" >"$work/$name.make.log" 2>&1; then
        fail "$name: making the capture: $(tail -3 "$work/$name.make.log")"
        continue
    fi
    pass "$name: capture made ($(grep -E '^(packets in file|tcp.analysis.retransmission)' "$work/$name.make.log" | tr -s ' ' | tr '\n' ';'))"
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
