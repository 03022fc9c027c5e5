#!/usr/bin/env bash
# listener_e2e.sh — the listener output with real consumers, and mixed mode.
#
#   listener_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# curl in the client namespace talks to nginx in the server namespace (lib.sh
# live_origin_up); stethoscope captures on the client's sth0 in client mode with three
# outputs at once (mixed mode): the listener on 127.0.0.1:7001/7002 of the client
# namespace, the connector (remote-host) with a requests target that refuses and a
# responses target that accepts and never reads, and the files output as the byte-exact
# reference (itself checked against curl --trace by the other live tests).
# A consumer (consumer.py) follows stethoscope's events and connects after every
# session_opened: from a source port equal to the session id for odd uids (a claim),
# plainly for even ones (the oldest unclaimed session). Workload, in order:
#   1. a keep-alive connection with 5 requests                  (uid 1, claimed)
#   2. a 10 MiB download whose responses stream the consumer reads at 1 KiB/s for 4 s and
#      then drops mid-stream                                    (uid 2, slow consumer)
#   3. while 2 runs, a 1 MiB paced download                     (uid 3, claimed, unaffected)
# Checks: every stream the consumer read to the end equals the files output byte for byte
# and ended with a half-close (EOF); the slow stream is a byte-exact prefix, its drops are
# counted in bytes and segments, announced with output_overflow once per episode, and
# delivered + dropped == reassembled exactly, per stream, in session_closed and in the
# final counters; the connector's refused and never-read streams fail with
# connect_failed / stalled and account for every byte too; the capture dropped nothing.
# Root only (SKIP otherwise).
set -u
source "$(dirname "$0")/lib.sh"
live_init listener "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 150
HERE=$(dirname "$0")

live_origin_up

# A target that accepts and never reads (small receive buffer), in the client namespace.
ip netns exec "$STH_NS_CLI" "$LIVE_PYTHON" "$HERE/consumer.py" sink --port 7102 --mode never \
    --out "$LIVE_WORK/never" --duration 100 &
LIVE_NGINX_PIDS+=($!)
live_wait_listen "$STH_NS_CLI" 127.0.0.1 7102 || live_fail "the never-reading target did not listen"

cat >"$LIVE_WORK/mixed.json" <<EOF
{
  "capture": { "mode": "client", "local_ip": "$STH_CLI_IP", "remote_ip": "$STH_SRV_IP",
               "remote_port": 80, "stats_interval_sec": 0 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "listener": { "enabled": true, "bind": "127.0.0.1", "requests_port": 7001, "responses_port": 7002,
                  "queue_bytes": 4194304, "hold_bytes": 1048576, "claim_timeout_sec": 10 },
    "remote-host": { "enabled": true, "requests": "127.0.0.1:7101", "responses": "127.0.0.1:7102",
                     "connect_timeout_sec": 2, "queue_bytes": 262144, "stall_timeout_sec": 2 },
    "files": { "enabled": true, "dir": "$LIVE_WORK/out" }
  } }
}
EOF
live_sth_start mixed "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/mixed.json" || live_finish

ip netns exec "$STH_NS_CLI" "$LIVE_PYTHON" "$HERE/consumer.py" listen \
    --events "$LIVE_WORK/mixed.stdout" --out "$LIVE_WORK/consumer" --claim odd \
    --slow 2 --slow-rate 1024 --slow-for 4 --duration 40 &
consumer_pid=$!
sleep 0.5

base="http://$STH_SRV_IP"
live_log "workload ($(live_elapsed)s)"
live_curl ka -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    "$base/small.txt" "$base/k100.bin" "$base/t" "$base/nope" "$base/small.txt"
sleep 1
live_curl big -o /dev/null "$base/m10.bin" &
big_pid=$!
sleep 1
live_curl paced -o /dev/null "$base/slow/m1.bin"
wait "$big_pid"
live_curl_verdict ka big paced
live_log "workload done ($(live_elapsed)s)"

# The slow consumer leaves after 4 s; then every session can finish. Wait for 3 records.
for _ in $(seq 1 200); do
    (($(grep -c '"event":"session_closed"' "$LIVE_WORK/mixed.stdout") >= 3)) && break
    sleep 0.1
done
if live_sth_alive mixed; then
    live_pass "the capture ran on through the slow consumer, the refused and the stalled targets"
else
    live_fail "stethoscope died: $(tail -5 "$LIVE_WORK/mixed.stderr")"
fi
live_sth_stop mixed
live_expect_clean_exit mixed
kill "$consumer_pid" 2>/dev/null
wait "$consumer_pid" 2>/dev/null

stats=$(grep '"event":"capture_stats"' "$LIVE_WORK/mixed.stdout" | tail -1)
if grep -q '"dropped_kernel":0,' <<<"$stats" && grep -q '"dropped_queue_full":0' <<<"$stats"; then
    live_pass "capture dropped nothing (kernel 0, queue full 0)"
else
    live_fail "capture drops: $stats"
fi

live_check listener "$LIVE_PYTHON" "$HERE/outputcheck.py" listener --stdout "$LIVE_WORK/mixed.stdout" \
    --files "$LIVE_WORK/out" --consumer "$LIVE_WORK/consumer" --sessions 3 --slow-min-dropped 1000000
live_check connector "$LIVE_PYTHON" "$HERE/outputcheck.py" accounting --stdout "$LIVE_WORK/mixed.stdout" \
    --output connector --sessions 3 --expect requests=refused
# The never-reading target: the small sessions fit its socket buffers; the 10 MiB one
# stalls. Every session accounts for every byte either way.
live_check never "$LIVE_PYTHON" - "$LIVE_WORK/mixed.stdout" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
closed = [e for e in evs if e.get("event") == "session_closed"]
bad = 0
for e in closed:
    o = e["outputs"]["connector"]["responses"]
    if o["delivered"] + o["dropped"] != o["reassembled"] or o["reassembled"] != e["responses"]["bytes"]:
        bad += 1
        print("FAIL: uid %d responses to the never-reading target: %s" % (e["uid"], o))
big = max(closed, key=lambda e: e["responses"]["bytes"])
o = big["outputs"]["connector"]["responses"]
print(("PASS" if o.get("error") == "stalled" and o["dropped"] > 0 else "FAIL") +
      ": the 10 MiB session towards the never-reading target: error %s, %d of %d bytes dropped"
      % (o.get("error"), o["dropped"], o["reassembled"]))
print(("PASS" if bad == 0 else "FAIL") + ": never-reading target: delivered + dropped == reassembled for all %d sessions" % len(closed))
PY
live_log "done in $(live_elapsed)s"
live_finish
