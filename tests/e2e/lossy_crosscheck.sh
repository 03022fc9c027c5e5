#!/usr/bin/env bash
# Real traffic with 1% random loss (dropped in a router namespace by nftables, see
# tests/tools/make_lossy_capture.sh): our retransmission and out-of-order counts must be
# within 1% of tshark's, and every stream must be what tshark follows, less the gaps.
# Root only. Usage: lossy_crosscheck.sh STETHOSCOPE SOURCE_DIR WORKDIR
set -u
bin=$1 src=$2 work=$3
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP lossy_crosscheck: needs root for network namespaces"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
rm -rf "$work" && mkdir -p "$work"
STH_NS_PREFIX="sthlx$$" "$src/tests/tools/make_lossy_capture.sh" "$work/lossy.pcap" 1 >"$work/make.log" 2>&1 ||
    { echo "FAIL making the capture: $(tail -5 "$work/make.log")"; echo "0 passed, 1 failed"; exit 1; }
"$bin" --log-level warning -c <(echo '{"capture":{"mode":"filter","stats_interval_sec":0}}') \
    -r "$work/lossy.pcap" >"$work/events" 2>"$work/err" || { echo "FAIL run: $(cat "$work/err")"; exit 1; }
python3 - "$work/events" "$work/lossy.pcap" <<'PY'
import json, subprocess, sys
events, pcap = sys.argv[1], sys.argv[2]
ours = {"retransmission": 0, "out_of_order": 0}
for line in open(events):
    e = json.loads(line)
    if e["event"] == "session_closed":
        for k in ours:
            ours[k] += e["analysis"][k]
passed = failed = 0
for k in ours:
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "tcp.analysis." + k, "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True).stdout
    theirs = len([l for l in out.splitlines() if l.strip()])
    ok = theirs > 0 and abs(ours[k] - theirs) <= 0.01 * theirs
    print(("PASS" if ok else "FAIL"), f"{k}: stethoscope {ours[k]}, tshark {theirs}")
    passed += ok
    failed += not ok
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
