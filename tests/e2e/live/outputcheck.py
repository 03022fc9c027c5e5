#!/usr/bin/env python3
"""outputcheck.py — checks of the socket outputs' end-to-end tests. One PASS/FAIL line each.

  outputcheck.py listener --stdout EVENTS --files DIR --consumer DIR [--output listener]
                          [--sessions N] [--slow-min-dropped B] [--range]
      Every session: what the consumer received on each stream equals the files output's
      requests.bin / responses.bin byte for byte (a consumer dropped mid-stream: a prefix
      of it); consumers that bound the session id got it ("claimed_by": "source_port");
      session_closed outputs.<output>.<dir>: reassembled == the stream's length and
      delivered + dropped == reassembled (dropped 0 for every complete consumer); the
      final capture_stats counters add up the same way.

  outputcheck.py accounting --stdout EVENTS --output NAME --expect DIR=STATE ...
      For a connector: every session's outputs.NAME.DIR has delivered + dropped ==
      reassembled; STATE ok (dropped 0, delivered > 0), refused (error connect_failed,
      delivered 0), stalled (error stalled, dropped > 0).

  outputcheck.py accesslogs A_LOG B_LOG [--min N]
      nginx access logs "remote_port|request|request_length|status|body": B saw the same
      requests as A, in the same order per client port, with the same bodies.
"""
import argparse
import json
import os
import sys

FAILS = 0


def ok(cond, msg):
    global FAILS
    if cond:
        print("PASS: " + msg)
    else:
        FAILS += 1
        print("FAIL: " + msg)
    return cond


def events(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def stem(ev):
    def part(ep):
        host, port = ep.rsplit(":", 1)
        return host.strip("[]").replace(":", ".") + "_" + port
    return part(ev["client"]) + "-" + part(ev["server"])


def last_counters(evs):
    stats = [e for e in evs if e.get("event") == "capture_stats"]
    return stats[-1].get("counters", {}) if stats else {}


def check_counters(evs, output):
    c = last_counters(evs)
    for d in ("requests", "responses"):
        r = c.get("%s.%s.reassembled_bytes" % (output, d), -1)
        dl = c.get("%s.%s.delivered_bytes" % (output, d), -1)
        dr = c.get("%s.%s.dropped_bytes" % (output, d), -1)
        ok(r >= 0 and r == dl + dr,
           "final counters %s.%s: reassembled %d == delivered %d + dropped %d" % (output, d, r, dl, dr))


def cmd_listener(a):
    evs = events(a.stdout)
    closed = {e["uid"]: e for e in evs if e.get("event") == "session_closed"}
    opened = {e["uid"]: e for e in evs if e.get("event") == "session_opened"}
    connected = [e for e in evs if e.get("event") == "output_connected" and e.get("output") == a.output]
    overflow = [e for e in evs if e.get("event") == "output_overflow" and e.get("output") == a.output]
    ok(len(closed) == a.sessions and len(opened) == a.sessions,
       "%d sessions opened and closed (want %d)" % (len(closed), a.sessions))
    with open(os.path.join(a.consumer, "consumer.json")) as f:
        conns = json.load(f)
    by_port = {(c["local_port"], c["direction"]): c for c in conns if "local_port" in c}
    errors = [c for c in conns if "error" in c]
    ok(not errors, "every consumer connection was accepted: %s" % errors[:3])
    # Which session and stream each consumer connection got, from output_connected.
    got = {}
    for e in connected:
        port = int(e["peer"].rsplit(":", 1)[1])
        got[(e["uid"], e["direction"])] = (port, e["claimed_by"])
    for uid, ev in sorted(closed.items()):
        outs = ev.get("outputs", {}).get(a.output)
        if not ok(outs is not None, "uid %d: session_closed has outputs.%s" % (uid, a.output)):
            continue
        folder = os.path.join(a.files, stem(ev))
        for d in ("requests", "responses"):
            want = open(os.path.join(folder, d + ".bin"), "rb").read()
            o = outs[d]
            ok(o["reassembled"] == len(want) == ev[d]["bytes"],
               "uid %d %s: reassembled %d == files output %d == session bytes %d"
               % (uid, d, o["reassembled"], len(want), ev[d]["bytes"]))
            ok(o["delivered"] + o["dropped"] == o["reassembled"],
               "uid %d %s: delivered %d + dropped %d == reassembled %d"
               % (uid, d, o["delivered"], o["dropped"], o["reassembled"]))
            if not ok((uid, d) in got, "uid %d %s: a consumer got the stream" % (uid, d)):
                continue
            port, how = got[(uid, d)]
            c = by_port.get((port, d))
            if not ok(c is not None, "uid %d %s: the connection from port %d is the consumer's" % (uid, d, port)):
                continue
            data = open(c["file"], "rb").read()
            if c.get("claimed") and not a.range:
                ok(how == "source_port" and c["uid"] == uid,
                   "uid %d %s: claimed by source port %d (claimed_by %s)" % (uid, d, port, how))
            if a.range:
                ok(how == "session_port", "uid %d %s: came in on the session's own port" % (uid, d))
            if c.get("slow"):
                ok(data == want[:len(data)] and len(data) < len(want),
                   "uid %d %s: the slow consumer got a byte-exact prefix (%d of %d bytes) before it left"
                   % (uid, d, len(data), len(want)))
                ok(o["dropped"] >= a.slow_min_dropped and o.get("error") == "disconnected",
                   "uid %d %s: %d bytes in %d segments dropped, error %s"
                   % (uid, d, o["dropped"], o["dropped_segments"], o.get("error")))
                ok(len(data) <= o["delivered"],
                   "uid %d %s: consumer read %d <= delivered %d" % (uid, d, len(data), o["delivered"]))
                eps = [e for e in overflow if e["uid"] == uid and e["direction"] == d]
                ok(len(eps) == o["overflow_episodes"] >= 1,
                   "uid %d %s: %d output_overflow events == %d episodes"
                   % (uid, d, len(eps), o["overflow_episodes"]))
            else:
                ok(data == want and c.get("eof"),
                   "uid %d %s: consumer received %d bytes, byte-exact, then EOF (half-close)"
                   % (uid, d, len(data)))
                ok(o["dropped"] == 0 and o["delivered"] == len(want),
                   "uid %d %s: nothing dropped" % (uid, d))
    check_counters(evs, a.output)


def cmd_accounting(a):
    evs = events(a.stdout)
    closed = [e for e in evs if e.get("event") == "session_closed"]
    ok(len(closed) >= a.sessions, "%d sessions closed (want >= %d)" % (len(closed), a.sessions))
    expect = dict(x.split("=") for x in a.expect)
    for ev in closed:
        outs = ev.get("outputs", {}).get(a.output, {})
        for d, state in expect.items():
            o = outs.get(d)
            if not ok(o is not None, "uid %d: outputs.%s.%s present" % (ev["uid"], a.output, d)):
                continue
            ok(o["delivered"] + o["dropped"] == o["reassembled"] == ev[d]["bytes"],
               "uid %d %s: delivered %d + dropped %d == reassembled %d == session bytes %d"
               % (ev["uid"], d, o["delivered"], o["dropped"], o["reassembled"], ev[d]["bytes"]))
            if state == "ok":
                ok(o["dropped"] == 0 and "error" not in o, "uid %d %s: delivered all" % (ev["uid"], d))
            elif state == "refused":
                ok(o.get("error") == "connect_failed" and o["delivered"] == 0,
                   "uid %d %s: connect_failed, nothing delivered (%s)" % (ev["uid"], d, o.get("error")))
            elif state == "stalled":
                ok(o.get("error") == "stalled" and o["dropped"] > 0,
                   "uid %d %s: stalled, %d dropped (%s)" % (ev["uid"], d, o["dropped"], o.get("error")))
    errs = [e for e in evs if e.get("event") == "output_error" and e.get("output") == a.output]
    for d, state in expect.items():
        if state in ("refused", "stalled"):
            want = "connect_failed" if state == "refused" else "stalled"
            n = sum(1 for e in errs if e["direction"] == d and e["error"] == want)
            ok(n == len(closed), "%d output_error %s events for %s (one per session)" % (n, want, d))
    check_counters(evs, a.output)


def cmd_accesslogs(a):
    def load(p):
        per = {}
        order = []
        for line in open(p, encoding="utf-8", errors="replace"):
            port, rest = line.rstrip("\n").split("|", 1)
            per.setdefault(port, []).append(rest)
            order.append(rest)
        return per, order
    pa, oa = load(a.a)
    pb, ob = load(a.b)
    ok(len(oa) >= a.min, "nginx A logged %d requests (want >= %d)" % (len(oa), a.min))
    ok(sorted(oa) == sorted(ob), "nginx B logged the same %d requests as A (B: %d)" % (len(oa), len(ob)))
    ok(pa == pb, "per client port (bind_client_port), B's requests are A's in the same order: %d ports"
       % len(pa))
    bodies = [r for r in oa if r.split("|")[-1] not in ("", "-")]
    ok(len(bodies) >= 2, "%d requests carried bodies, equal in both logs" % len(bodies))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    l = sub.add_parser("listener")
    l.add_argument("--stdout", required=True)
    l.add_argument("--files", required=True)
    l.add_argument("--consumer", required=True)
    l.add_argument("--output", default="listener")
    l.add_argument("--sessions", type=int, required=True)
    l.add_argument("--slow-min-dropped", type=int, default=1)
    l.add_argument("--range", action="store_true")
    c = sub.add_parser("accounting")
    c.add_argument("--stdout", required=True)
    c.add_argument("--output", default="connector")
    c.add_argument("--sessions", type=int, default=1)
    c.add_argument("--expect", nargs="+", required=True)
    g = sub.add_parser("accesslogs")
    g.add_argument("a")
    g.add_argument("b")
    g.add_argument("--min", type=int, default=1)
    a = p.parse_args()
    {"listener": cmd_listener, "accounting": cmd_accounting, "accesslogs": cmd_accesslogs}[a.cmd](a)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
