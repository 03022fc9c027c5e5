#!/usr/bin/env bash
# socket_outputs_e2e.sh — the listener and the connector reading a file: nothing dropped.
#
#   socket_outputs_e2e.sh STETHOSCOPE_BIN SOURCE_DIR WORKDIR
#
# Reading a capture file never drops: with a 1 KiB queue per stream (the connector) and
# hold_bytes 0 (the listener: no byte kept before a consumer comes), the reader waits for
# the sockets instead. On config/sample-http.pcap (3 real curl<->nginx sessions, loopback):
#   connector -> two sinks (consumer.py sink): every stream arrives byte-exact (compared
#     with the files output of the same run), delivered == reassembled, dropped 0;
#   listener  -> a consumer (consumer.py listen) that connects only after session_opened:
#     every stream byte-exact, half-closed, dropped 0, exact final counters;
#   listener without a consumer: every stream released after claim_timeout_sec
#     (output_error unclaimed), all its bytes dropped and counted;
#   consumers parked before any session: one that left again is skipped, the waiting one
#     gets the first session byte-exact;
#   more records waiting than reassembly.max_sessions: the oldest published early (their
#     counts show the queued bytes), the final counters still exact;
#   SIGINT while sessions wait for a consumer: released at once (output_error shutdown),
#     every byte counted, exit 0;
#   connector with bind_client_port when the client's port is taken: connects from
#     another port and says so (client_port_bound false, bind_error);
#   connector towards a target that never completes the handshake: connect_timeout,
#     every byte dropped and counted.
# (No claims by source port here: the capture fixes the session ids, and a port of the
# machine may be in TIME_WAIT; the live listener test claims.) Loopback only, no root.
set -u
bin=$(realpath "${1:?usage: $0 BIN SOURCE_DIR WORKDIR}")
src=$(realpath "${2:?}")
work=$(realpath -m "${3:?}")
py=${PYTHON3:-python3}
here="$src/tests/e2e/live"
rm -rf "$work" && mkdir -p "$work" || exit 1
fails=0
check() {  # check NAME CMD...: runs a checker, counts its FAIL lines
    local out
    out=$("${@:2}" 2>&1)
    printf '%s\n' "$out"
    grep -q '^FAIL' <<<"$out" && fails=$((fails + 1))
    grep -q '^PASS' <<<"$out" || { echo "FAIL: $1: no verdict"; fails=$((fails + 1)); }
}
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

# Below the ephemeral range (32768+), where outgoing connections may hold any port.
base=$((20000 + RANDOM % 10000))
# --- connector: two sinks --------------------------------------------------------------
"$py" "$here/consumer.py" sink --port "$base" --out "$work/sink-req" --duration 60 &
pids+=($!)
"$py" "$here/consumer.py" sink --port $((base + 1)) --out "$work/sink-resp" --duration 60 &
pids+=($!)
for _ in $(seq 1 100); do
    (($(ss -Hltn "( sport = :$base or sport = :$((base + 1)) )" | wc -l) == 2)) && break
    sleep 0.05
done
cat >"$work/connector.json" <<JSON
{ "capture": { "input": "pcap-file", "mode": "filter", "stats_interval_sec": 0 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "remote-host": { "enabled": true, "requests": "127.0.0.1:$base", "responses": "127.0.0.1:$((base + 1))",
                     "queue_bytes": 1024, "linger_sec": 0.2 },
    "files": { "enabled": true, "dir": "$work/out-connector" } } } }
JSON
if timeout 60 "$bin" -c "$work/connector.json" -r "$src/config/sample-http.pcap" >"$work/connector.stdout" 2>"$work/connector.stderr"; then
    echo "PASS: connector run exited 0"
else
    echo "FAIL: connector run: $(tail -3 "$work/connector.stderr")"; fails=$((fails + 1))
fi
sleep 0.5
check connector "$py" "$here/outputcheck.py" accounting --stdout "$work/connector.stdout" \
    --output connector --sessions 3 --expect requests=ok responses=ok
check connector_bytes "$py" - "$work" <<'PY'
import glob, os, sys
w = sys.argv[1]
for d, sink in (("requests", "sink-req"), ("responses", "sink-resp")):
    want = sorted(open(f, "rb").read() for f in glob.glob(os.path.join(w, "out-connector", "*", d + ".bin")))
    got = sorted(open(f, "rb").read() for f in glob.glob(os.path.join(w, sink, "sink-*.bin")))
    print(("PASS" if want == got and len(want) == 3 else "FAIL") +
          ": connector %s: the targets received the 3 streams byte-exact (%s bytes)"
          % (d, [len(x) for x in got]))
PY

# --- listener: a consumer that comes after session_opened, hold_bytes 0 -----------------
cat >"$work/listener.json" <<JSON
{ "capture": { "input": "pcap-file", "mode": "filter", "stats_interval_sec": 0 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "listener": { "enabled": true, "requests_port": $((base + 2)), "responses_port": $((base + 3)),
                  "hold_bytes": 0, "queue_bytes": 1024, "claim_timeout_sec": 20 },
    "files": { "enabled": true, "dir": "$work/out-listener" } } } }
JSON
"$py" "$here/consumer.py" listen --events "$work/listener.stdout" --out "$work/consumer" \
    --ports $((base + 2)) $((base + 3)) --claim none --duration 15 &
cpid=$!
pids+=($cpid)
if timeout 60 "$bin" -c "$work/listener.json" -r "$src/config/sample-http.pcap" >"$work/listener.stdout" 2>"$work/listener.stderr"; then
    echo "PASS: listener run exited 0"
else
    echo "FAIL: listener run: $(tail -3 "$work/listener.stderr")"; fails=$((fails + 1))
fi
sleep 0.5
kill -TERM "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
check listener "$py" "$here/outputcheck.py" listener --stdout "$work/listener.stdout" \
    --files "$work/out-listener" --consumer "$work/consumer" --sessions 3

# --- listener without a consumer: released after claim_timeout_sec, reported, counted ---
cat >"$work/unclaimed.json" <<JSON
{ "capture": { "input": "pcap-file", "mode": "filter", "stats_interval_sec": 0 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "listener": { "enabled": true, "requests_port": $((base + 4)), "responses_port": $((base + 5)),
                  "claim_timeout_sec": 0.5 } } } }
JSON
timeout 60 "$bin" -c "$work/unclaimed.json" -r "$src/config/sample-http.pcap" >"$work/unclaimed.stdout" 2>"$work/unclaimed.stderr"
check unclaimed "$py" - "$work/unclaimed.stdout" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
closed = [e for e in evs if e.get("event") == "session_closed"]
errs = [e for e in evs if e.get("event") == "output_error" and e["error"] == "unclaimed"]
print(("PASS" if len(closed) == 3 and len(errs) == 6 else "FAIL") +
      ": 3 sessions without a consumer released, 6 output_error unclaimed (%d, %d)" % (len(closed), len(errs)))
for e in closed:
    for d in ("requests", "responses"):
        o = e["outputs"]["listener"][d]
        print(("PASS" if o["delivered"] == 0 and o["dropped"] == o["reassembled"] == e[d]["bytes"]
               and o.get("error") == "unclaimed" else "FAIL") +
              ": uid %d %s: all %d bytes dropped and counted (unclaimed)" % (e["uid"], d, e[d]["bytes"]))
PY

# --- more records waiting than reassembly.max_sessions: the oldest are published early ---
cat >"$work/drain.json" <<JSON
{ "capture": { "input": "pcap-file", "mode": "filter", "stats_interval_sec": 0, "workers": 1 },
  "reassembly": { "max_sessions": 1 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "listener": { "enabled": true, "requests_port": $((base + 10)), "responses_port": $((base + 11)),
                  "claim_timeout_sec": 1 } } } }
JSON
timeout 60 "$bin" -c "$work/drain.json" -r "$src/config/sample-http.pcap" >"$work/drain.stdout" 2>"$work/drain.stderr"
check drain "$py" - "$work/drain.stdout" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
closed = [e for e in evs if e.get("event") == "session_closed"]
stats = [e for e in evs if e.get("event") == "capture_stats"][-1]
early = [e for e in closed if any(e["outputs"]["listener"][d].get("queued", 0) > 0 for d in ("requests", "responses"))]
print(("PASS" if len(closed) == 3 and stats["sessions_drain_forced"] == 2 and len(early) == 2 else "FAIL") +
      ": max_sessions 1: 3 records, 2 published before the listener was done (forced %d, with queued bytes %d)"
      % (stats["sessions_drain_forced"], len(early)))
for e in closed:
    for d in ("requests", "responses"):
        o = e["outputs"]["listener"][d]
        print(("PASS" if o["delivered"] + o["dropped"] + o.get("queued", 0) == o["reassembled"] == e[d]["bytes"]
               else "FAIL") + ": uid %d %s: delivered + dropped + queued == reassembled (%s)" % (e["uid"], d, o))
c = stats["counters"]
print(("PASS" if all(c["listener.%s.reassembled_bytes" % d] == c["listener.%s.delivered_bytes" % d] +
                     c["listener.%s.dropped_bytes" % d] for d in ("requests", "responses")) else "FAIL") +
      ": the final counters are exact all the same (the early records' bytes were dropped later, unclaimed)")
PY

# --- SIGINT while sessions wait for a consumer: released at once, every byte counted ------
sed 's/"claim_timeout_sec": 0.5/"claim_timeout_sec": 60/' "$work/unclaimed.json" >"$work/sigint.json"
"$bin" -c "$work/sigint.json" -r "$src/config/sample-http.pcap" >"$work/sigint.stdout" 2>"$work/sigint.stderr" &
spid=$!
for _ in $(seq 1 50); do grep -q session_opened "$work/sigint.stdout" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
t0=$(date +%s%N)
kill -INT "$spid"
for _ in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$spid" 2>/dev/null; then
    kill -KILL "$spid"
    echo "FAIL: SIGINT: still running 5 s later (waiting for the 60 s claim timeout?)"; fails=$((fails + 1))
else
    wait "$spid"
    src_rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    if ((src_rc == 0 && ms < 3000)); then
        echo "PASS: SIGINT with unclaimed sessions: exit 0 after $ms ms"
    else
        echo "FAIL: SIGINT with unclaimed sessions: exit $src_rc after $ms ms"; fails=$((fails + 1))
    fi
fi
check sigint "$py" - "$work/sigint.stdout" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
closed = [e for e in evs if e.get("event") == "session_closed"]
print(("PASS" if len(closed) == 3 else "FAIL") + ": SIGINT: 3 session records (%d)" % len(closed))
for e in closed:
    for d in ("requests", "responses"):
        o = e["outputs"]["listener"][d]
        print(("PASS" if o["dropped"] == o["reassembled"] == e[d]["bytes"] and o.get("error") == "shutdown"
               else "FAIL") + ": SIGINT uid %d %s: %d bytes dropped and counted (%s)"
              % (e["uid"], d, o["dropped"], o.get("error")))
PY

# --- consumers that came before any session: one went away again, one waits ------------
# The capture is fed through a FIFO, so both consumers are parked before the first
# session; the one that left must not take it.
mkfifo "$work/feed.pcap"
cat >"$work/parked.json" <<JSON
{ "capture": { "input": "pcap-file", "mode": "filter", "stats_interval_sec": 0 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "listener": { "enabled": true, "requests_port": $((base + 8)), "responses_port": $((base + 9)),
                  "claim_timeout_sec": 1 },
    "files": { "enabled": true, "dir": "$work/out-parked" } } } }
JSON
"$bin" -c "$work/parked.json" -r "$work/feed.pcap" >"$work/parked.stdout" 2>"$work/parked.stderr" &
ppid_=$!
pids+=($ppid_)
for _ in $(seq 1 100); do ss -Hltn "sport = :$((base + 9))" | grep -q . && break; sleep 0.05; done
"$py" - "$((base + 8))" "$((base + 9))" "$work/parked" <<'PY' &
import os, socket, sys, threading, time
req, resp, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
for port in (req, resp):  # the consumer that leaves before any session
    s = socket.create_connection(("127.0.0.1", port)); s.close()
time.sleep(0.3)
def read(port, name):
    s = socket.create_connection(("127.0.0.1", port))
    open(os.path.join(out, "port-%s" % name), "w").write(str(s.getsockname()[1]))
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        while True:
            d = s.recv(65536)
            if not d:
                break
            f.write(d)
ts = [threading.Thread(target=read, args=(p, n)) for p, n in ((req, "requests"), (resp, "responses"))]
for t in ts: t.start()
for t in ts: t.join(20)
PY
consumer_pid=$!
pids+=($consumer_pid)
# Feed only once the waiting consumer is connected on both ports (a busy machine may take
# longer than any fixed pause to start it), and the listener has had a moment to accept.
for _ in $(seq 1 400); do
    [[ -s $work/parked/port-requests && -s $work/parked/port-responses ]] && break
    sleep 0.05
done
sleep 0.2
cat "$src/config/sample-http.pcap" >"$work/feed.pcap"
wait "$ppid_"
wait "$consumer_pid"
check parked "$py" - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
evs = [json.loads(l) for l in open(os.path.join(w, "parked.stdout")) if l.startswith("{")]
opened = {e["uid"]: e for e in evs if e.get("event") == "session_opened"}
stem = lambda ep: ep.rsplit(":", 1)[0] + "_" + ep.rsplit(":", 1)[1]
for d in ("requests", "responses"):
    port = open(os.path.join(w, "parked", "port-" + d)).read()
    # Exactly one connection was handed a session: the waiting consumer's, not the one
    # that left (with two workers, which session opens first is up to them).
    conn = [e for e in evs if e.get("event") == "output_connected" and e["direction"] == d]
    ok = len(conn) == 1 and conn[0]["peer"].endswith(":" + port) and conn[0]["claimed_by"] == "waiting"
    print(("PASS" if ok else "FAIL") + ": %s: a session went to the consumer still waiting (port %s), "
          "not to the one that left: %s" % (d, port, [(e["uid"], e["peer"], e["claimed_by"]) for e in conn]))
    if not ok:
        continue
    e = opened[conn[0]["uid"]]
    folder = os.path.join(w, "out-parked", stem(e["client"]) + "-" + stem(e["server"]))
    got = open(os.path.join(w, "parked", d + ".bin"), "rb").read()
    want = open(os.path.join(folder, d + ".bin"), "rb").read()
    print(("PASS" if got == want and len(want) > 0 else "FAIL") +
          ": %s: the waiting consumer got its session's %d bytes byte-exact" % (d, len(want)))
closed = [e for e in evs if e.get("event") == "session_closed"]
exact = all(e["outputs"]["listener"][d]["delivered"] + e["outputs"]["listener"][d]["dropped"]
            == e["outputs"]["listener"][d]["reassembled"] for e in closed for d in ("requests", "responses"))
print(("PASS" if len(closed) == 3 and exact else "FAIL") +
      ": 3 sessions closed (the others unclaimed), every byte accounted for")
PY

# --- connector binding the client's port: taken -> any port, reported -------------------
"$py" - "$((base + 6))" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", 55734)); s.listen(1)  # the first session's client port, taken
except OSError:
    pass  # taken already (TIME_WAIT of an earlier run): the connector must fall back either way
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[1]))); t.listen(16)
end = time.time() + 20
conns = []
t.settimeout(0.2)
while time.time() < end:
    try:
        c, _ = t.accept(); conns.append(c)
        c.setblocking(False)
    except socket.timeout:
        pass
    for c in conns:
        try:
            c.recv(1 << 20)
        except OSError:
            pass
PY
pids+=($!)
for _ in $(seq 1 100); do ss -Hltn "sport = :$((base + 6))" | grep -q . && break; sleep 0.05; done
cat >"$work/bind.json" <<JSON
{ "capture": { "input": "pcap-file", "mode": "filter", "stats_interval_sec": 0 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "remote-host": { "enabled": true, "requests": "127.0.0.1:$((base + 6))", "bind_client_port": true,
                     "linger_sec": 0.2 } } } }
JSON
timeout 60 "$bin" -c "$work/bind.json" -r "$src/config/sample-http.pcap" >"$work/bind.stdout" 2>"$work/bind.stderr"
check bind "$py" - "$work/bind.stdout" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
c = [e for e in evs if e.get("event") == "output_connected" and e["session"] == 55734]
ok = len(c) == 1 and c[0]["client_port_bound"] is False and c[0].get("bind_error") and \
    not c[0]["local"].endswith(":55734")
print(("PASS" if ok else "FAIL") + ": client port 55734 taken: connected from %s, reported %s"
      % (c[0]["local"] if c else None, {k: c[0].get(k) for k in ("client_port_bound", "bind_error")} if c else None))
closed = [e for e in evs if e.get("event") == "session_closed"]
good = [e for e in closed if e["outputs"]["connector"]["requests"]["delivered"] == e["requests"]["bytes"]]
print(("PASS" if len(closed) == 3 and len(good) == 3 else "FAIL") +
      ": every request stream delivered in full (%d of %d)" % (len(good), len(closed)))
PY

# --- connector towards a target that never answers the handshake: connect_timeout -------
# A listening socket with a full accept queue (backlog 0, one connection already waiting,
# never accepted): the kernel drops further SYNs, so connects hang until our timeout.
"$py" - "$((base + 7))" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
fill = []
for _ in range(2):
    c = socket.socket(); c.setblocking(False)
    try:
        c.connect(("127.0.0.1", int(sys.argv[1])))
    except BlockingIOError:
        pass
    fill.append(c)
time.sleep(30)
PY
pids+=($!)
for _ in $(seq 1 100); do ss -Hltn "sport = :$((base + 7))" | grep -q . && break; sleep 0.05; done
sleep 0.3
cat >"$work/timeout.json" <<JSON
{ "capture": { "input": "pcap-file", "mode": "filter", "stats_interval_sec": 0 },
  "log": { "events_stdout": true },
  "io": { "output": {
    "remote-host": { "enabled": true, "requests": "127.0.0.1:$((base + 7))", "connect_timeout_sec": 0.5 } } } }
JSON
timeout 60 "$bin" -c "$work/timeout.json" -r "$src/config/sample-http.pcap" >"$work/timeout.stdout" 2>"$work/timeout.stderr"
check connect_timeout "$py" - "$work/timeout.stdout" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
closed = [e for e in evs if e.get("event") == "session_closed"]
errs = [e for e in evs if e.get("event") == "output_error" and e["error"] == "connect_timeout"]
print(("PASS" if len(closed) == 3 and len(errs) == 3 else "FAIL") +
      ": a target that never completes the handshake: 3 output_error connect_timeout (%d), 3 sessions closed (%d)"
      % (len(errs), len(closed)))
for e in closed:
    o = e["outputs"]["connector"]["requests"]
    print(("PASS" if o["delivered"] == 0 and o["dropped"] == o["reassembled"] == e["requests"]["bytes"] else "FAIL") +
          ": uid %d: all %d request bytes dropped and counted (%s)" % (e["uid"], e["requests"]["bytes"], o.get("error")))
PY

echo "$fails checks failed"
((fails == 0))
