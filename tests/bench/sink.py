#!/usr/bin/env python3
"""sink.py — a TCP sink for the output benchmarks: accepts any number of connections on
the given ports and reads (and discards) everything as fast as it can.

    sink.py [--host 127.0.0.1] [--status FILE] [--ready FILE] [--rcvbuf BYTES] PORT...

One thread, epoll (selectors), one 1 MiB buffer read with recv_into. A connection is
closed by the sink as soon as its peer half-closes (EOF), so a peer that waits for the
other side to finish is not kept waiting.

Counts per port and in total: bytes, connections accepted, closed by EOF, closed by an
error (reset), open now and the peak number open at once; and the wall-clock (epoch) times
of the first and the last byte read and of the last close. The summary (JSON, one line) is printed
on stdout when the sink ends (SIGTERM or SIGINT). With --status FILE the same JSON (plus "open") is rewritten (atomically: a temp
file renamed) every --status-interval seconds (default 0.1) while running, so a script can
poll the open connection count. --ready FILE is created once every port listens.
--rcvbuf sets SO_RCVBUF on the listening sockets (inherited by the accepted ones); the
default 0 leaves the kernel's autotuning alone (a fixed SO_RCVBUF turns it off and is
capped by net.core.rmem_max).
"""
import argparse
import errno
import json
import os
import selectors
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ports", nargs="+", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--status", default="")
    ap.add_argument("--status-interval", type=float, default=0.1)
    ap.add_argument("--ready", default="")
    ap.add_argument("--rcvbuf", type=int, default=0)
    ap.add_argument("--bufsize", type=int, default=1 << 20)
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    stats = {
        p: {"bytes": 0, "accepted": 0, "closed_eof": 0, "closed_error": 0, "open": 0, "peak_open": 0}
        for p in args.ports
    }
    total = {"bytes": 0, "accepted": 0, "closed_eof": 0, "closed_error": 0, "open": 0, "peak_open": 0}
    listeners = []
    for p in args.ports:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if args.rcvbuf > 0:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
        ls.bind((args.host, p))
        ls.listen(4096)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, ("listen", p))
        listeners.append(ls)

    stop = [False]

    def on_signal(signum, frame):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = time.time()
    first_byte = [None]
    last_byte = [None]
    last_close = [None]

    def summary():
        out = {
            "ports": {str(p): dict(s) for p, s in stats.items()},
            "total": dict(total),
            # Wall-clock (epoch) seconds, comparable with `date +%s.%N`.
            "started": round(started, 6),
            "first_byte": first_byte[0] and round(first_byte[0], 6),
            "last_byte": last_byte[0] and round(last_byte[0], 6),
            "last_close": last_close[0] and round(last_close[0], 6),
            "pid": os.getpid(),
        }
        return out

    def write_status():
        if not args.status:
            return
        tmp = args.status + ".tmp"
        with open(tmp, "w") as f:
            json.dump(summary(), f)
        os.replace(tmp, args.status)

    if args.ready:
        with open(args.ready, "w") as f:
            f.write(str(os.getpid()) + "\n")

    buf = bytearray(args.bufsize)
    view = memoryview(buf)
    next_status = 0.0

    def close_conn(conn, port, how):
        sel.unregister(conn)
        conn.close()
        s = stats[port]
        s["open"] -= 1
        total["open"] -= 1
        s[how] += 1
        total[how] += 1
        last_close[0] = time.time()

    while not stop[0]:
        try:
            events = sel.select(timeout=args.status_interval if args.status else 1.0)
        except InterruptedError:
            continue
        for key, _ in events:
            kind, port = key.data
            if kind == "listen":
                for _ in range(256):  # drain the accept queue
                    try:
                        conn, _addr = key.fileobj.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:
                        if e.errno in (errno.EMFILE, errno.ENFILE):
                            print(f"sink: accept: {e}", file=sys.stderr)
                        break
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, ("conn", port))
                    s = stats[port]
                    s["accepted"] += 1
                    s["open"] += 1
                    s["peak_open"] = max(s["peak_open"], s["open"])
                    total["accepted"] += 1
                    total["open"] += 1
                    total["peak_open"] = max(total["peak_open"], total["open"])
                continue
            conn = key.fileobj
            got = 0
            how = None
            # Read until the socket is empty (bounded, so that one fast connection does not
            # starve the others).
            for _ in range(64):
                try:
                    n = conn.recv_into(view)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    how = "closed_error"
                    break
                if n == 0:
                    how = "closed_eof"
                    break
                got += n
                if n < len(buf):
                    break
            if got:
                now = time.time()
                if first_byte[0] is None:
                    first_byte[0] = now
                last_byte[0] = now
                stats[port]["bytes"] += got
                total["bytes"] += got
            if how:
                close_conn(conn, port, how)
        if args.status:
            now = time.monotonic()
            if now >= next_status:
                write_status()
                next_status = now + args.status_interval

    write_status()
    print(json.dumps(summary()), flush=True)


if __name__ == "__main__":
    main()
