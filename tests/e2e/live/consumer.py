#!/usr/bin/env python3
"""consumer.py — a listener-output consumer and sinks for the output end-to-end tests.

  consumer.py listen --events FILE --out DIR [--host H] [--ports REQ RESP | --range]
                     [--claim all|odd|none] [--slow N --slow-rate BPS --slow-for SEC]
                     [--duration SEC]
      Follows stethoscope's event stream (its stdout, as a file) and, for every
      session_opened, connects to the listener's two ports (or, with --range, to the
      ports the event announces). --claim all: from a source port equal to the session
      id; odd: only for odd uids; none: plain connections (the listener hands out the
      oldest unclaimed session). The Nth session (--slow N, 1-based) is read at
      --slow-rate bytes/s for --slow-for seconds and then dropped mid-stream. Everything
      received goes to DIR/conn-<local port>-<requests|responses>.bin; DIR/consumer.json
      lists every connection (uid it was opened for, local port, bytes, clean EOF).
      Runs until --duration has passed (or SIGTERM).

  consumer.py sink --port P --out DIR [--mode read|never] [--duration SEC]
      A TCP server: `read` stores each connection to DIR/sink-<n>.bin; `never` accepts
      and never reads (a target that stalls).

Only loopback addresses of the namespace it runs in are used.
"""
import argparse
import json
import os
import signal
import socket
import sys
import threading
import time


def follow(path, stop):
    """Yields the JSON events of a growing NDJSON file."""
    while not os.path.exists(path) and not stop.is_set():
        time.sleep(0.05)
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        buf = ""
        while not stop.is_set():
            chunk = f.readline()
            if not chunk:
                time.sleep(0.02)
                continue
            buf += chunk
            if not buf.endswith("\n"):
                continue
            line, buf = buf.strip(), ""
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    pass


def connect(host, port, src_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if src_port:
        s.bind((host, src_port))
    s.settimeout(10)
    s.connect((host, port))
    s.settimeout(None)
    return s


def receive(s, path, record, slow):
    record["local_port"] = s.getsockname()[1]
    total, eof = 0, False
    t0 = time.time()
    with open(path, "wb") as f:
        while True:
            if slow:
                rate, secs = slow
                if time.time() - t0 >= secs:
                    break  # drop the connection mid-stream
                want = max(1, int(rate / 10))
                data = s.recv(want)
                if data:
                    time.sleep(0.1)
            else:
                data = s.recv(1 << 20)
            if not data:
                eof = True
                break
            f.write(data)
            total += len(data)
    record.update(bytes=total, eof=eof)
    s.close()


def cmd_listen(a):
    os.makedirs(a.out, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Timer(a.duration, stop.set).start()
    conns, threads, n = [], [], 0
    lock = threading.Lock()

    def open_session(ev, idx):
        uid, sid = ev["uid"], ev["session"]
        if a.delay > 0:
            time.sleep(a.delay)  # a consumer that comes late
        claim = a.claim == "all" or (a.claim == "odd" and uid % 2 == 1)
        if a.range:
            info = ev.get("listener", {})
            ports = [info.get("requests_port"), info.get("responses_port")]
            if None in ports:
                with lock:
                    conns.append({"uid": uid, "error": "no ports announced", "event": info})
                return
        else:
            ports = a.ports
        for d, name in enumerate(("requests", "responses")):
            rec = {"uid": uid, "session": sid, "direction": name, "claimed": claim}
            try:
                s = connect(a.host, ports[d], sid if claim else 0)
            except OSError as e:
                rec["error"] = str(e)
                with lock:
                    conns.append(rec)
                continue
            lp = s.getsockname()[1]
            path = os.path.join(a.out, "conn-%d-%s.bin" % (lp, name))
            rec["file"] = path
            slow = (a.slow_rate, a.slow_for) if a.slow == idx and name == "responses" else None
            rec["slow"] = bool(slow)
            t = threading.Thread(target=receive, args=(s, path, rec, slow), daemon=True)
            t.start()
            with lock:
                conns.append(rec)
                threads.append(t)

    for ev in follow(a.events, stop):
        if ev.get("event") != "session_opened":
            continue
        n += 1
        if a.delay > 0:  # late, but each session on its own schedule
            threading.Thread(target=open_session, args=(ev, n), daemon=True).start()
        else:
            open_session(ev, n)
    for t in threads:
        t.join(timeout=1)
    with open(os.path.join(a.out, "consumer.json"), "w") as f:
        json.dump(conns, f, indent=1)
    os._exit(0)


def cmd_sink(a):
    os.makedirs(a.out, exist_ok=True)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.mode == "never":
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(64)
    held = []
    deadline = time.time() + a.duration
    n = 0

    def store(c, path):
        with open(path, "wb") as f:
            while True:
                d = c.recv(1 << 20)
                if not d:
                    break
                f.write(d)
        c.close()

    srv.settimeout(0.2)
    while time.time() < deadline:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        n += 1
        if a.mode == "never":
            held.append(c)  # never read
        else:
            threading.Thread(target=store, args=(c, os.path.join(a.out, "sink-%d.bin" % n)),
                             daemon=True).start()
    os._exit(0)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    l = sub.add_parser("listen")
    l.add_argument("--events", required=True)
    l.add_argument("--out", required=True)
    l.add_argument("--host", default="127.0.0.1")
    l.add_argument("--ports", type=int, nargs=2, default=[7001, 7002])
    l.add_argument("--range", action="store_true")
    l.add_argument("--claim", choices=["all", "odd", "none"], default="none")
    l.add_argument("--slow", type=int, default=0)
    l.add_argument("--slow-rate", type=int, default=1024)
    l.add_argument("--slow-for", type=float, default=4)
    l.add_argument("--delay", type=float, default=0,
                   help="connect this many seconds after session_opened")
    l.add_argument("--duration", type=float, default=60)
    s = sub.add_parser("sink")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--mode", choices=["read", "never"], default="read")
    s.add_argument("--duration", type=float, default=60)
    a = p.parse_args()
    {"listen": cmd_listen, "sink": cmd_sink}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
