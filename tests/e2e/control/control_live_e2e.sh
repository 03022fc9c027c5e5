#!/usr/bin/env bash
# control_live_e2e.sh — a live curl <-> nginx exchange watched on the control plane.
#
#   control_live_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# Namespaces as in the live tests (tests/e2e/live/lib.sh): curl in "cli" (198.18.0.1),
# nginx in "srv" (198.18.0.2:80). stethoscope captures on srv's sth0 (filter mode, tcp port
# 80) with the control plane bound OFF loopback, on 198.18.0.2 port 0, with a bearer token.
# From the client namespace:
#   - without the token: 401 with WWW-Authenticate; a wrong token: 401; with it: 200;
#     the raw session refuses commands before {"cmd":"auth"}, then answers;
#   - a watcher on /events?types=session_opened,session_closed (with the token) sees, for
#     each curl (a GET of 100 KiB, a 1.2 MB POST, then a keep-alive pair of GETs),
#     session_opened then session_closed of its client port, in that order, with request
#     and response byte counts equal to what curl's --trace says it sent and received, and
#     each session_closed line identical to the files output's sessions.ndjson line.
# Root only (SKIP otherwise).
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../live/lib.sh"
live_init control "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 120

live_origin_up
token="live-$$-$RANDOM"
cat >"$LIVE_WORK/sth.json" <<JSON
{ "capture": { "mode": "filter", "filter": "tcp port 80", "stats_interval_sec": 0 },
  "io": { "output": { "files": { "enabled": true, "dir": "$LIVE_WORK/out" } } },
  "control": { "listen": "$STH_SRV_IP:0", "token": "$token" } }
JSON
live_sth_start sth "$STH_NS_SRV" "$STH_NS_IF" "$LIVE_WORK/sth.json" || live_finish
port=$(sed -n "s/.*control plane listening on $STH_SRV_IP:\([0-9]*\).*/\1/p" "$LIVE_WORK/sth.stderr")
if [[ -z $port ]]; then
    live_fail "no 'control plane listening on $STH_SRV_IP:PORT' line: $(cat "$LIVE_WORK/sth.stderr")"
    live_finish
fi
live_pass "control plane on $STH_SRV_IP:$port (off loopback, token required)"
base="http://$STH_SRV_IP:$port"
cli() { ip netns exec "$STH_NS_CLI" "$@"; }

# --- the token ----------------------------------------------------------------------
out=$(cli curl -s -i --max-time 5 "$base/healthz")
if [[ $out == "HTTP/1.1 401 "* && $out == *$'WWW-Authenticate: Bearer realm="stethoscope"\r'* ]]; then
    live_pass "no token: 401 with WWW-Authenticate"
else
    live_fail "no token: $(head -c 300 <<<"$out")"
fi
code=$(cli curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer x$token" "$base/healthz")
[[ $code == 401 ]] && live_pass "wrong token: 401" || live_fail "wrong token: $code"
out=$(cli curl -s --max-time 5 -H "Authorization: Bearer $token" "$base/healthz")
[[ $out == '{"status":"capturing"}' ]] && live_pass "token: 200 $out" || live_fail "token: $out"

live_check raw cli "$LIVE_PYTHON" - "$STH_SRV_IP" "$port" "$token" <<'PY'
import socket, sys
host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=10)
f = s.makefile("rwb")
def ask(line):
    f.write(line.encode() + b"\n"); f.flush()
    return f.readline().decode().rstrip("\n")
a = ask('{"cmd":"health"}')
want = '{"ok":false,"cmd":"health","error":"authentication required: send {\\"cmd\\":\\"auth\\",\\"token\\":\\"...\\"} first"}'
print(("PASS" if a == want else "FAIL") + ": raw session before auth: " + a)
a = ask('{"cmd":"auth","token":"%s"}' % token)
print(("PASS" if a == '{"ok":true,"cmd":"auth"}' else "FAIL") + ": raw auth: " + a)
a = ask('{"cmd":"subscribe","types":["none"]}')
a = ask('{"cmd":"health"}')
print(("PASS" if a == '{"ok":true,"cmd":"health","status":"capturing"}' else "FAIL") + ": raw health after auth: " + a)
PY

# --- the watcher and the traffic ----------------------------------------------------
cli "$LIVE_PYTHON" - "$STH_SRV_IP" "$port" "$token" "$LIVE_WORK/events.ndjson" <<'PY' &
import socket, sys
host, port, token, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port), timeout=60)
s.sendall(("GET /events?types=session_opened,session_closed HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\n\r\n" % token).encode())
f = s.makefile("rb")
with open(out + ".head", "wb") as h:
    while (line := f.readline()) not in (b"\r\n", b""):
        h.write(line)
with open(out, "wb", buffering=0) as o:
    while True:
        size = int(f.readline().strip(), 16)
        if size == 0:
            break
        o.write(f.read(size))
        f.read(2)
PY
watcher=$!
for _ in $(seq 1 100); do [[ -s $LIVE_WORK/events.ndjson.head ]] && break; sleep 0.05; done
grep -q '^HTTP/1.1 200 OK' "$LIVE_WORK/events.ndjson.head" && live_pass "/events with the token: 200" ||
    live_fail "/events head: $(cat "$LIVE_WORK/events.ndjson.head" 2>/dev/null)"

live_curl get -o /dev/null "http://$STH_SRV_IP/k100.bin"
live_curl post -o /dev/null --data-binary "@$LIVE_WWW/post.bin" -H 'Content-Type: application/octet-stream' \
    "http://$STH_SRV_IP/upload"
live_curl ka -o /dev/null -o /dev/null "http://$STH_SRV_IP/small.txt" "http://$STH_SRV_IP/t"
live_curl_verdict get post ka
for _ in $(seq 1 100); do
    (($(grep -c '"event":"session_closed"' "$LIVE_WORK/events.ndjson" 2>/dev/null) >= 3)) && break
    sleep 0.1
done
live_sth_stop sth
live_expect_clean_exit sth
wait "$watcher" 2>/dev/null

live_check events "$LIVE_PYTHON" - "$LIVE_DIR" "$LIVE_WORK" get post ka <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
from livecheck import Trace
work, ids = sys.argv[2], sys.argv[3:]
events = [json.loads(l) for l in open(os.path.join(work, "events.ndjson"))]
ndjson = [l.rstrip("\n") for l in open(os.path.join(work, "out", "sessions.ndjson"))]
raw_lines = [l.rstrip("\n") for l in open(os.path.join(work, "events.ndjson"))]
ok_all = True
for cid in ids:
    port = int(open(os.path.join(work, "curl", cid + ".port")).read().split()[0])
    t = Trace(os.path.join(work, "curl", cid + ".trace"))
    mine = [(i, e) for i, e in enumerate(events) if e.get("session") == port]
    kinds = [e["event"] for _, e in mine]
    ok = kinds == ["session_opened", "session_closed"]
    print(("PASS" if ok else "FAIL") + ": %s (port %d): events %s" % (cid, port, kinds))
    if not ok:
        continue
    closed_i, closed = mine[1]
    ok = closed["requests"]["bytes"] == len(t.requests) and closed["responses"]["bytes"] == len(t.responses)
    print(("PASS" if ok else "FAIL") + ": %s: bytes %d/%d, curl sent/received %d/%d" % (
        cid, closed["requests"]["bytes"], closed["responses"]["bytes"], len(t.requests), len(t.responses)))
    ok = raw_lines[closed_i] in ndjson
    print(("PASS" if ok else "FAIL") + ": %s: the session_closed line equals the files output's" % cid)
print(("PASS" if len(events) == 2 * len(ids) else "FAIL") + ": %d events for %d sessions" % (len(events), len(ids)))
PY
live_log "done in $(live_elapsed)s"
live_finish
