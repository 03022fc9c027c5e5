#!/usr/bin/env bash
# shadow_e2e.sh — traffic shadowing with the connector, and the listener's port_range.
#
#   shadow_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# curl in the client namespace talks to nginx A (198.18.0.2:80, server namespace).
# stethoscope captures the client's sth0 (client mode) and the connector replays every
# session's requests stream to nginx B (127.0.0.1:8090 in the client namespace, the same
# content, not on the captured link), binding the captured client's port. Both nginx log
# "remote_port|request|request_length|status|request_body"; B must log the same requests
# as A, per client port in the same order, with the same bodies (GETs, a 404, form and
# binary POSTs, keep-alive connections). The connector reads what B answers (counted as
# peer_bytes) and accounts for every byte (delivered == reassembled, nothing dropped).
#
# A third instance runs the listener with hold_bytes 0 and a consumer that comes 0.3 s
# late: what came before it is dropped and counted, the rest arrives byte-exact.
# A second stethoscope on the same link runs the listener with port_range holding one
# pair of ports: the first session gets its own two ports (announced in session_opened;
# a consumer reads both streams byte-exact), the overlapping second one finds the range
# exhausted: output_error no_ports, its bytes dropped and counted, nothing crashes.
# Root only (SKIP otherwise).
set -u
source "$(dirname "$0")/lib.sh"
live_init shadow "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 150
HERE=$(dirname "$0")

if ! sth_ns_up >"$LIVE_WORK/netns.log" 2>&1; then
    live_fail "network namespaces: $(cat "$LIVE_WORK/netns.log")"
    live_finish
fi
LIVE_WWW="$LIVE_WORK/www"
live_make_www "$LIVE_WWW"

# shadow_servers IP PORT BACKEND_PORT LOGDIR: the same content for A and B.
shadow_servers() {
    cat <<EOF
    log_format shadow '\$remote_port|\$request|\$request_length|\$status|\$request_body';
    server {
        listen $1:$2;
        root $LIVE_WWW;
        client_max_body_size 16m;
        client_body_buffer_size 2m;
        access_log $4/shadow.log shadow;
        location = /t { return 200 "ok\n"; }
        location /slow/ { alias $LIVE_WWW/; limit_rate 1m; }
        location = /form { proxy_pass http://127.0.0.1:$3/stored; }
    }
    server {
        listen 127.0.0.1:$3;
        access_log off;
        location / { return 200 "stored\n"; }
    }
EOF
}
mkdir -p "$LIVE_WORK/nginx-a/logs" "$LIVE_WORK/nginx-b/logs"
live_nginx_start "$STH_NS_SRV" "$LIVE_WORK/nginx-a" \
    "$(shadow_servers "$STH_SRV_IP" 80 8081 "$LIVE_WORK/nginx-a/logs")" "$STH_SRV_IP" 80 || live_finish
live_nginx_start "$STH_NS_CLI" "$LIVE_WORK/nginx-b" \
    "$(shadow_servers 127.0.0.1 8090 8091 "$LIVE_WORK/nginx-b/logs")" 127.0.0.1 8090 || live_finish

capture="\"mode\": \"client\", \"local_ip\": \"$STH_CLI_IP\", \"remote_ip\": \"$STH_SRV_IP\", \"remote_port\": 80, \"stats_interval_sec\": 0"
cat >"$LIVE_WORK/shadow.json" <<EOF
{
  "capture": { $capture },
  "log": { "events_stdout": true },
  "io": { "output": {
    "remote-host": { "enabled": true, "requests": "127.0.0.1:8090", "bind_client_port": true }
  } }
}
EOF
cat >"$LIVE_WORK/range.json" <<EOF
{
  "capture": { $capture },
  "log": { "events_stdout": true },
  "io": { "output": {
    "listener": { "enabled": true, "port_range": "7200-7201", "claim_timeout_sec": 5,
                  "hold_bytes": 8388608 },
    "files": { "enabled": true, "dir": "$LIVE_WORK/out-range" }
  } }
}
EOF
cat >"$LIVE_WORK/hold0.json" <<EOF
{
  "capture": { $capture },
  "log": { "events_stdout": true },
  "io": { "output": {
    "listener": { "enabled": true, "requests_port": 7301, "responses_port": 7302, "hold_bytes": 0 },
    "files": { "enabled": true, "dir": "$LIVE_WORK/out-hold0" }
  } }
}
EOF
live_sth_start shadow "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/shadow.json" || live_finish
live_sth_start hold0 "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/hold0.json" || live_finish
live_sth_start range "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/range.json" || live_finish
ip netns exec "$STH_NS_CLI" "$LIVE_PYTHON" "$HERE/consumer.py" listen --range \
    --events "$LIVE_WORK/range.stdout" --out "$LIVE_WORK/consumer" --duration 30 &
consumer_pid=$!
ip netns exec "$STH_NS_CLI" "$LIVE_PYTHON" "$HERE/consumer.py" listen --ports 7301 7302 --delay 0.3 \
    --events "$LIVE_WORK/hold0.stdout" --out "$LIVE_WORK/consumer-hold0" --duration 30 &
consumer2_pid=$!
sleep 0.5

base="http://$STH_SRV_IP"
live_log "workload ($(live_elapsed)s)"
# 1: a paced 4 MiB download keeps the port pair busy while 2 runs (range exhausted).
live_curl paced -o /dev/null "$base/slow/m4.bin" &  # nginx sends 1 s worth (1 MB) at once, the rest paced over ~3 s (time for a late consumer to join)
paced_pid=$!
sleep 0.2
live_curl ka -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    "$base/small.txt" "$base/k100.bin" "$base/t" "$base/nope" "$base/small.txt"
wait "$paced_pid"
# From here one session at a time, each after the previous one's FIN grace (0.5 s), so
# the port pair is free again for each.
sleep 1
live_curl form -o /dev/null --data 'alpha=1&beta=two' "$base/form"
sleep 1
live_curl bin -o /dev/null --data-binary "@$LIVE_WWW/small.txt" -H 'Content-Type: text/plain' "$base/form"
sleep 1
live_curl ka2 -o /dev/null -o /dev/null "$base/t" "$base/small.txt"
live_curl_verdict paced ka form bin ka2
live_log "workload done ($(live_elapsed)s)"

for id in shadow range hold0; do
    for _ in $(seq 1 100); do
        (($(grep -c '"event":"session_closed"' "$LIVE_WORK/$id.stdout") >= 5)) && break
        sleep 0.1
    done
done
sleep 1  # B's last answers and log lines
live_sth_stop shadow
live_sth_stop range
live_sth_stop hold0
live_expect_clean_exit shadow
live_expect_clean_exit range
live_expect_clean_exit hold0
kill "$consumer_pid" "$consumer2_pid" 2>/dev/null
wait "$consumer_pid" "$consumer2_pid" 2>/dev/null

live_check accesslogs "$LIVE_PYTHON" "$HERE/outputcheck.py" accesslogs \
    "$LIVE_WORK/nginx-a/logs/shadow.log" "$LIVE_WORK/nginx-b/logs/shadow.log" --min 10
live_check accounting "$LIVE_PYTHON" "$HERE/outputcheck.py" accounting --stdout "$LIVE_WORK/shadow.stdout" \
    --output connector --sessions 5 --expect requests=ok
live_check bound "$LIVE_PYTHON" - "$LIVE_WORK/shadow.stdout" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
conn = [e for e in evs if e.get("event") == "output_connected"]
bound = [e for e in conn if e.get("client_port_bound") and e["local"].endswith(":%d" % e["session"])]
print(("PASS" if len(conn) == 5 and len(bound) == 5 else "FAIL") +
      ": %d connections to B, %d from the captured client's port" % (len(conn), len(bound)))
closed = [e for e in evs if e.get("event") == "session_closed"]
answered = [e for e in closed if e["outputs"]["connector"]["requests"]["peer_bytes"] > 0]
print(("PASS" if len(answered) == len(closed) == 5 else "FAIL") +
      ": B answered every replayed session (%d of %d)" % (len(answered), len(closed)))
PY
live_check range "$LIVE_PYTHON" - "$LIVE_WORK/range.stdout" "$LIVE_WORK/out-range" "$LIVE_WORK/consumer" <<'PY'
import json, os, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
opened = {e["uid"]: e for e in evs if e.get("event") == "session_opened"}
closed = {e["uid"]: e for e in evs if e.get("event") == "session_closed"}
conns = json.load(open(os.path.join(sys.argv[3], "consumer.json")))
def stem(e):
    f = lambda ep: ep.rsplit(":", 1)[0] + "_" + ep.rsplit(":", 1)[1]
    return f(e["client"]) + "-" + f(e["server"])
fails = 0
def check(c, m):
    global fails
    print(("PASS: " if c else "FAIL: ") + m)
    fails += 0 if c else 1
check(len(opened) == 5 and len(closed) == 5, "range: 5 sessions opened and closed")
first = opened.get(1, {}).get("listener", {})
check(first == {"requests_port": 7200, "responses_port": 7201},
      "range: the first session announced its own ports 7200/7201: %s" % first)
second = opened.get(2, {}).get("listener", {})
check(second == {"error": "no_ports"}, "range: the overlapping second session found the range exhausted: %s" % second)
errs = [e for e in evs if e.get("event") == "output_error" and e["uid"] == 2 and e["error"] == "no_ports"]
check(len(errs) == 2, "range: output_error no_ports for both streams of session 2 (%d)" % len(errs))
later = [u for u in (3, 4, 5) if opened.get(u, {}).get("listener", {}).get("requests_port") == 7200]
check(len(later) == 3, "range: the pair was freed and reused by sessions 3, 4, 5 (%s)" % later)
for uid, e in sorted(closed.items()):
    for d in ("requests", "responses"):
        o = e["outputs"]["listener"][d]
        want = open(os.path.join(sys.argv[2], stem(e), d + ".bin"), "rb").read()
        check(o["delivered"] + o["dropped"] == o["reassembled"] == len(want),
              "range uid %d %s: delivered %d + dropped %d == reassembled %d == %d"
              % (uid, d, o["delivered"], o["dropped"], o["reassembled"], len(want)))
        if uid == 2:
            check(o["dropped"] == len(want) and o.get("error") == "no_ports",
                  "range uid 2 %s: all %d bytes dropped (no_ports)" % (d, len(want)))
            continue
        got = [c for c in conns if c["uid"] == uid and c.get("direction") == d and "file" in c]
        data = open(got[0]["file"], "rb").read() if got else None
        check(data == want and got[0].get("eof"),
              "range uid %d %s: the consumer on the session's own port got %s bytes, byte-exact, then EOF"
              % (uid, d, len(data) if data is not None else "no"))
PY
# hold_bytes 0, the prototype's behaviour: bytes before the consumer connects (0.3 s
# late) are dropped and counted (output_overflow no_consumer); from then on every byte
# arrives, so the consumer holds exactly the stream's tail.
live_check hold0 "$LIVE_PYTHON" - "$LIVE_WORK/hold0.stdout" "$LIVE_WORK/out-hold0" "$LIVE_WORK/consumer-hold0" <<'PY'
import json, os, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
closed = {e["uid"]: e for e in evs if e.get("event") == "session_closed"}
conns = json.load(open(os.path.join(sys.argv[3], "consumer.json")))
by_port = {(c["local_port"], c["direction"]): c for c in conns if "local_port" in c}
got = {}
for e in evs:
    if e.get("event") == "output_connected":
        got[(e["uid"], e["direction"])] = int(e["peer"].rsplit(":", 1)[1])
def stem(e):
    f = lambda ep: ep.rsplit(":", 1)[0] + "_" + ep.rsplit(":", 1)[1]
    return f(e["client"]) + "-" + f(e["server"])
def check(c, m):
    print(("PASS: " if c else "FAIL: ") + m)
check(len(closed) == 5, "hold0: 5 sessions closed (%d)" % len(closed))
partial = 0
for uid, e in sorted(closed.items()):
    for d in ("requests", "responses"):
        o = e["outputs"]["listener"][d]
        want = open(os.path.join(sys.argv[2], stem(e), d + ".bin"), "rb").read()
        c = by_port.get((got.get((uid, d)), d))
        data = open(c["file"], "rb").read() if c else b""
        ok = (o["reassembled"] == len(want) and o["delivered"] == len(data) and
              o["dropped"] == len(want) - len(data) and want.endswith(data) and "error" not in o)
        check(ok, "hold0 uid %d %s: %d bytes dropped before the consumer came, the %d after it arrived byte-exact"
              % (uid, d, o["dropped"], len(data)))
        if d == "responses" and 0 < len(data) < len(want):
            partial += 1
check(partial >= 1, "hold0: the paced 4 MiB download was joined mid-stream (%d)" % partial)
n = sum(1 for e in evs if e.get("event") == "output_overflow" and e["reason"] == "no_consumer")
check(n >= 5, "hold0: %d output_overflow no_consumer events" % n)
PY
live_log "done in $(live_elapsed)s"
live_finish
