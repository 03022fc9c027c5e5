#!/usr/bin/env python3
"""slow_events_e2e.py — an /events client that never reads never slows the capture.

    slow_events_e2e.py STETHOSCOPE_BIN WORKDIR [SESSIONS]

A crafted capture of SESSIONS complete sessions (default 12000: about 12 MB of events,
more than the kernel's socket buffers (tcp_wmem up to 4 MiB) and max_pending_bytes
together) is read at full speed (through a FIFO, so the client is connected before the
first packet) while one /events client, with a 4 KiB receive buffer, never reads;
control.max_pending_bytes is 64 KiB.
Checked: the run ends by itself (exit 0, bounded time); the engine dropped nothing (final
capture_stats: every session opened and closed, events_dropped 0, no queue drop) and
stdout has every session_closed; the client was cut off (the server closed it) and that
is counted: http.events_clients_dropped 1, http.events_dropped >= 1,
http.events_dropped_bytes > 64 KiB; another client (curl, ?types=capture_stats) on the same
plane meanwhile gets its events, exactly the capture_stats lines of stdout.
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl_lib import Sth, check, craft_sessions, finish  # noqa: E402

BIN, WORK = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 12000
os.makedirs(WORK, exist_ok=True)
pcap = os.path.join(WORK, "many.pcap")
req, resp = craft_sessions(pcap, N)

cfg = {"capture": {"input": "pcap-file", "mode": "filter", "stats_interval_sec": 0},
       "log": {"events_stdout": True},
       "control": {"listen": "127.0.0.1:0", "max_pending_bytes": 65536}}
sth = Sth(BIN, WORK, "slow", cfg, fifo=True)
port = sth.wait_port()

stalled = socket.socket()
stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stalled.connect(("127.0.0.1", port))
stalled.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
reader_out = open(os.path.join(WORK, "curl.ndjson"), "wb")
reader = subprocess.Popen(["curl", "-sN", "--max-time", "120",
                           "http://127.0.0.1:%d/events?types=capture_stats" % port],
                          stdout=reader_out)
# Both subscribed before the first packet: the stats show two live connections' worth
# of nothing yet; wait until the reading client's stream is open (its head arrived).
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    out = subprocess.run(["ss", "-Htn", "state", "established", "( dport = :%d )" % port],
                         capture_output=True, text=True).stdout
    if len(out.strip().splitlines()) >= 2:
        break
    time.sleep(0.02)

t0 = time.monotonic()
sth.open_fifo()
with open(pcap, "rb") as f:
    sth.feed(f.read())
sth.close_fifo()
rc = sth.wait(120)
took = time.monotonic() - t0
check(rc == 0, "the run ended by itself, exit %s, in %.1f s" % (rc, took))
events = sth.events()
stats = [e for e in events if e["event"] == "capture_stats"][-1]
closed = sum(1 for e in events if e["event"] == "session_closed")
check(stats["sessions_opened"] == N and stats["sessions_closed"] == N and closed == N,
      "every session: opened %d, closed %d, session_closed lines %d (want %d)" %
      (stats["sessions_opened"], stats["sessions_closed"], closed, N))
check(stats.get("events_dropped") == 0 and stats["dropped_queue_full"] == 0,
      "nothing dropped in the engine: events_dropped %s, dropped_queue_full %s" %
      (stats.get("events_dropped"), stats["dropped_queue_full"]))
c = stats["counters"]
check(c.get("http.events_clients_dropped") == 1 and c.get("http.events_dropped", 0) >= 1 and
      c.get("http.events_dropped_bytes", 0) > 65536,
      "the stalled client was cut off and counted: clients %s, events %s, bytes %s" %
      (c.get("http.events_clients_dropped"), c.get("http.events_dropped"), c.get("http.events_dropped_bytes")))
# The server closed the stalled client: what it holds ends with EOF, well short of all.
stalled.settimeout(10)
got = 0
try:
    while True:
        d = stalled.recv(1 << 20)
        if not d:
            break
        got += len(d)
except (socket.timeout, ConnectionResetError):
    got = -1
check(got >= 0, "the stalled client's connection was closed by the server (%d bytes were in flight)" % got)
reader.wait(30)
reader_out.close()
lines = [l for l in open(os.path.join(WORK, "curl.ndjson")) if l.strip()]
stdout = [l for l in open(sth.stdout_path) if l.startswith('{"ts":') and '"event":"capture_stats"' in l]
check(lines == stdout and len(lines) >= 1,
      "the other client got its capture_stats lines, as on stdout (%d lines)" % len(lines))
finish()
