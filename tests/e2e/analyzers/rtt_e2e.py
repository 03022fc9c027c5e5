#!/usr/bin/env python3
"""rtt_e2e.py — the rtt-bdp and stall analyzers on crafted captures of known timing.

    rtt_e2e.py STETHOSCOPE GEN_RTT_CAPTURES WORKDIR

GEN_RTT_CAPTURES writes the captures (tests/support/gen_rtt_captures.cpp: the timings are
in the comment above each); each is read by the real stethoscope (one worker, no outputs,
no control plane) and its session_closed / flow_* / metrics events are checked against
the values below, each derived by hand from those timings (all times in microseconds,
t = 0 at the capture's T0). With TSHARK set (environment), the ACK RTT samples and the
initial RTT of every capture are also compared with tshark's (rtt_tshark.py).
Prints PASS/FAIL per check and "N passed, N failed"; exits non-zero on a failure.
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtt_tshark  # noqa: E402

BIN, GEN, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
TSHARK = os.environ.get("TSHARK", "")
RESULTS = []


def report(ok, message):
    RESULTS.append(bool(ok))
    print(("PASS: " if ok else "FAIL: ") + message, flush=True)


def run(name, rtt_cfg=None, stall_cfg=None):
    """Runs stethoscope on NAME.pcap; returns (events, events path, samples log path)."""
    cap = os.path.join(WORK, "captures", name + ".pcap")
    out = os.path.join(WORK, "runs", name)
    os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "samples.log")
    if os.path.exists(log):
        os.remove(log)
    rtt = {"interval_sec": 0, "samples_log": log}
    rtt.update(rtt_cfg or {})
    cfg = {"capture": {"mode": "filter", "stats_interval_sec": 0, "workers": 1},
           "analyzers": {"rtt-bdp": rtt, "stall": stall_cfg or {}},
           "control": {"enabled": False}}
    cfg_path = os.path.join(out, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    events_path = os.path.join(out, "events.ndjson")
    with open(events_path, "w") as f:
        p = subprocess.run([BIN, "--log-level", "warning", "-c", cfg_path, "-r", cap],
                           stdout=f, stderr=subprocess.PIPE, text=True, timeout=120)
    if p.returncode != 0:
        report(False, "%s: stethoscope exited %d: %s" % (name, p.returncode, p.stderr[-500:]))
        return [], events_path, log
    with open(events_path) as f:
        events = [json.loads(line) for line in f if line.strip()]
    return events, events_path, log


def closed_of(events):
    c = [e for e in events if e["event"] == "session_closed"]
    return c[0] if len(c) == 1 else None


def expect(name, actual, expected):
    """Each key path of `expected` ("a.b.c") must equal in `actual` (floats to 1e-6)."""
    for path, want in expected.items():
        v = actual
        for k in path.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        ok = abs(v - want) <= 1e-6 * max(1, abs(want)) if isinstance(want, float) and \
            isinstance(v, (int, float)) else v == want
        report(ok, "%s: %s = %r (expected %r)" % (name, path, v, want))


def check_tshark(name, events_path, log):
    if not TSHARK:
        return
    cap = os.path.join(WORK, "captures", name + ".pcap")
    rtt_tshark.compare(TSHARK, cap, events_path, log,
                       lambda ok, m: report(ok, "%s vs tshark: %s" % (name, m)))


def case(name, expected, rtt_cfg=None):
    events, path, log = run(name, rtt_cfg)
    c = closed_of(events)
    report(c is not None, "%s: one session_closed" % name)
    if c is None:
        return events, None
    expect(name, c, expected)
    check_tshark(name, path, log)
    return events, c


def main():
    os.makedirs(WORK, exist_ok=True)
    subprocess.run([GEN, os.path.join(WORK, "captures")], check=True, stdout=subprocess.DEVNULL)

    # handshake: SYN 0, SYN-ACK 12,345, ACK 13,023: legs 12,345 and 678, sum 13,023.
    # Server side (requests data ACKed by the server): SYN 0 -> SYN-ACK 12,345; request
    # 13,100 -> 25,100 = 12,000; FIN 30,000 -> 42,000 = 12,000. avg 12,115; sample stdev
    # sqrt((230^2 + 115^2 + 115^2) / 2) = 199.2; RFC 6298: SRTT 12,345 -> 12,301 -> 12,263,
    # RTTVAR 6,172 -> (3*6,172 + 345)/4 = 4,715 -> (3*4,715 + 301)/4 = 3,611.
    # Client side: SYN-ACK -> ACK 678, response 25,200 -> 25,900 = 700, FIN 700: avg 692.7,
    # stdev 12.7; SRTT 678 -> 680 -> 682, RTTVAR 339 -> 259 -> 199.
    # Path min RTT: min(13,023, 12,000 + 678) = 12,678.
    # Requests: 100 B outstanding 13,100..25,100 (a short segment: sender-limited),
    # goodput 800 / 0.012 = 66,667 b/s, BDP 66,666.7/8 * 0.012678 = 105.65 -> 106 B.
    # Responses: 1,000 B outstanding 25,200..25,900: 8,000 / 0.0007 = 11,428,571 b/s,
    # BDP 11,428,571.4/8 * 0.012678 = 18,111 B.
    case("handshake", {
        "rtt.handshake.server_leg_us": 12345, "rtt.handshake.client_leg_us": 678,
        "rtt.handshake.initial_rtt_us": 13023, "rtt.min_rtt_us": 12678,
        "rtt.server.ack.count": 3, "rtt.server.ack.min_us": 12000,
        "rtt.server.ack.max_us": 12345, "rtt.server.ack.avg_us": 12115,
        "rtt.server.ack.stdev_us": 199, "rtt.server.ack.srtt_us": 12263,
        "rtt.server.ack.rttvar_us": 3611, "rtt.server.ack.karn_excluded": 0,
        "rtt.client.ack.count": 3, "rtt.client.ack.min_us": 678, "rtt.client.ack.max_us": 700,
        "rtt.client.ack.avg_us": 693, "rtt.client.ack.stdev_us": 13,
        "rtt.client.ack.srtt_us": 682, "rtt.client.ack.rttvar_us": 199,
        "rtt.server.ts.count": 0, "rtt.client.ts.count": 0,
        "rtt.requests.acked_bytes": 100, "rtt.requests.goodput_bps": 66667,
        "rtt.requests.bdp_bytes": 106, "rtt.responses.acked_bytes": 1000,
        "rtt.responses.goodput_bps": 11428571, "rtt.responses.bdp_bytes": 18111,
        "limits.requests.sender": 1.0, "limits.requests.busy_sec": 0.012,
        "limits.responses.sender": 1.0, "limits.responses.busy_sec": 0.0007,
    })

    # transfer: 100 x 1,000 B, segment i at 50,000 + 1,000 i, ACKed 1,000 us later:
    # outstanding without a break from 50,000 to 150,000 = 0.1 s, full-sized segments
    # (MSS 1,000) far below the 65,535 B window: network (congestion window) limited.
    # Goodput 100,000 B * 8 / 0.1 s = 8,000,000 b/s. RTT: server side 20,000 (SYN, request
    # 30,000 -> 50,000, FIN), client side 1,000 (102 samples); min RTT = 20,000 + 1,000 =
    # 21,000 = initial RTT. BDP = 1,000,000 B/s * 0.021 s = 21,000 B. Requests: 100 B
    # outstanding 30,000..50,000: 800 / 0.02 = 40,000 b/s, BDP 5,000 * 0.021 = 105 B.
    case("transfer", {
        "rtt.handshake.initial_rtt_us": 21000, "rtt.min_rtt_us": 21000,
        "rtt.server.ack.count": 3, "rtt.server.ack.min_us": 20000,
        "rtt.client.ack.count": 102, "rtt.client.ack.min_us": 1000,
        "rtt.client.ack.max_us": 1000, "rtt.client.ack.stdev_us": 0,
        "rtt.responses.acked_bytes": 100000, "rtt.responses.goodput_bps": 8000000,
        "rtt.responses.bdp_bytes": 21000, "rtt.requests.goodput_bps": 40000,
        "rtt.requests.bdp_bytes": 105, "limits.responses.network": 1.0,
        "limits.responses.busy_sec": 0.1,
    })

    # rwnd: window 4,000 B, RTT 20 ms. Per round (20,000 us): after the 1st and 2nd
    # segments in flight 1,000 / 2,000 < 4,000 - 1,000 (network, 20 us); from the 3rd on
    # 3,000 >= 3,000: receiver (19,980 us). Ten rounds: receiver 199,800 / 200,000 = 0.999,
    # network 0.001; goodput 40,000 B * 8 / 0.2 s = 1,600,000 b/s.
    case("rwnd", {
        "limits.responses.receiver": 0.999, "limits.responses.network": 0.001,
        "limits.responses.sender": 0.0, "limits.responses.busy_sec": 0.2,
        "rtt.responses.acked_bytes": 40000, "rtt.responses.goodput_bps": 1600000,
    })

    # app_pause: per cycle 10,000 us with full segments in flight (network) and a
    # 190,000 us pause with nothing in flight and no request in between, decided sender
    # when the next cycle's data comes (the last pause is never decided). Five cycles:
    # network 50,000, sender 4 * 190,000 = 760,000: sender 760/810 = 0.938272,
    # network 50/810 = 0.0617284; goodput 10,000 B * 8 / 0.81 s = 98,765 b/s.
    case("app_pause", {
        "limits.responses.sender": 760000 / 810000, "limits.responses.network": 50000 / 810000,
        "limits.responses.receiver": 0.0, "limits.responses.busy_sec": 0.81,
        "rtt.responses.goodput_bps": 98765,
    })

    # lossy: round 0 (10,000 us): network 30 (A..C in flight), sender 9,970 (after the
    # short D). Rounds 1..3 (210,000 us each): network 30, sender 9,970 + 10 (A ACKed, D
    # still the last segment), then from the first duplicate ACK at r+10,010 loss recovery
    # until everything is ACKed at r+210,000: network 200,000 - 10 + 30 = 200,020.
    # network = 30 + 3 * 200,020 = 600,090, sender = 9,970 + 3 * 9,980 = 39,910, of
    # 640,000: 0.937641 and 0.0623594. Client side samples: SYN-ACK 1,000, round 0 D
    # 9,970, rounds 1..3 A 10,000, FIN 10,000 = 6; the three ACKs of D after B was resent
    # are excluded by Karn's rule.
    case("lossy", {
        "limits.responses.network": 600090 / 640000, "limits.responses.sender": 39910 / 640000,
        "limits.responses.receiver": 0.0, "limits.responses.busy_sec": 0.64,
        "rtt.client.ack.count": 6, "rtt.client.ack.karn_excluded": 3,
        "rtt.client.ack.min_us": 1000, "rtt.client.ack.max_us": 10000,
    })

    # karn: client side (responses data): SYN-ACK -> ACK 1,000; S1 30,000 -> 40,000 =
    # 10,000; the ACK of S3 at 340,000 covers the resent S2: excluded; server FIN 410,000
    # -> 420,000 = 10,000. Server side: SYN 9,000, request 20,000 -> 30,000, FIN 400,000
    # -> 410,000: 3 samples, none excluded.
    case("karn", {
        "rtt.client.ack.count": 3, "rtt.client.ack.karn_excluded": 1,
        "rtt.client.ack.min_us": 1000, "rtt.client.ack.max_us": 10000,
        "rtt.server.ack.count": 3, "rtt.server.ack.karn_excluded": 0,
        "rtt.server.ack.min_us": 9000, "rtt.server.ack.max_us": 10000,
    })

    # ring_copy: client side: SYN-ACK -> ACK 1,000, S0 10,000, the server's FIN -> the
    # client's FIN 10,000; the ACK of S4's end is Karn-excluded (its first copy found the
    # ring full: untimed), S5's ACK untimed. Server side: SYN 9,000, request 10,000, the
    # client's FIN 10,000.
    case("ring_copy", {
        "rtt.client.ack.count": 3, "rtt.client.ack.karn_excluded": 1,
        "rtt.client.ack.min_us": 1000, "rtt.client.ack.max_us": 10000,
        "rtt.server.ack.count": 3, "rtt.server.ack.karn_excluded": 0,
        "rtt.server.ack.min_us": 9000, "rtt.server.ack.max_us": 10000,
    })

    # ts_oneway (mid-stream, only the server sends): ACK samples exist for the client
    # side only (5 x 15,000). Timestamps: the server's TSval is echoed by the client
    # 15,000 us later (client side, 5 samples); the client's TSval (on its pure ACKs) is
    # echoed by the server 5,000 us later (server side, 5 samples: the one thing only
    # timestamps can measure here). Path min RTT = 5,000 + 15,000 = 20,000 (no handshake).
    case("ts_oneway", {
        "rtt.server.ack.count": 0, "rtt.server.ts.count": 5, "rtt.server.ts.min_us": 5000,
        "rtt.client.ack.count": 5, "rtt.client.ack.min_us": 15000,
        "rtt.client.ts.count": 5, "rtt.client.ts.min_us": 15000, "rtt.min_rtt_us": 20000,
        "rtt.handshake.initial_rtt_us": None,
    })

    check_stalls()
    check_metrics()
    failed = RESULTS.count(False)
    print("%d passed, %d failed" % (len(RESULTS) - failed, failed))
    return 1 if failed else 0


def stall_events(events, kind):
    return [e for e in events if e["event"] == kind]


def check_stalls():
    # Zero window from the ACK at 50,000 until the window update at 1,284,567:
    # 1,234,567 us (threshold 500 ms > 4 x min RTT). The responses' limits: 10 us
    # network + 19,980 receiver before the zero window, then nothing in flight with a
    # window below one MSS until the next data at 1,290,000 (1,240,000 us, receiver), then
    # 1,000 B in flight until 1,310,000 (network 20,000): receiver 1,259,980 of 1,280,000.
    events, _, _ = run("stall_zero_window")
    st, rs = stall_events(events, "flow_stalled"), stall_events(events, "flow_resumed")
    report(len(st) == 1 and st[0]["cause"] == "zero_window" and st[0]["direction"] == "responses"
           and st[0]["since"] == "2023-11-14T22:13:20.050000Z",
           "stall_zero_window: one flow_stalled, zero_window since 20.050000: %s" % st)
    report(len(rs) == 1 and rs[0]["cause"] == "zero_window"
           and rs[0]["until"] == "2023-11-14T22:13:21.284567Z" and rs[0]["duration_us"] == 1234567,
           "stall_zero_window: flow_resumed after exactly 1,234,567 us: %s" % rs)
    report(len(st) == 1 and len(rs) == 1 and events.index(st[0]) < events.index(rs[0]),
           "stall_zero_window: flow_stalled before flow_resumed")
    c = closed_of(events) or {}
    expect("stall_zero_window", c, {
        "stall.count": 1, "stall.total_sec": 1.234567, "stall.longest_sec": 1.234567,
        "stall.by_cause.zero_window": 1, "stall.by_cause.no_ack": 0, "stall.open": None,
        "limits.responses.receiver": 1259980 / 1280000,
        "limits.responses.network": 20020 / 1280000,
    })

    # The same zero window while another session's packets (every 50,000 us) move the
    # capture clock: the engine's ticks (~250 ms) find the stall, within one tick and one
    # packet spacing of since + 500 ms, before the stalled session's next packet.
    events, _, _ = run("stall_tick")
    st = [e for e in stall_events(events, "flow_stalled") if e["session"] == 40000]
    rs = [e for e in stall_events(events, "flow_resumed") if e["session"] == 40000]
    report(len(st) == 1 and st[0]["since"] == "2023-11-14T22:13:20.050000Z"
           and "2023-11-14T22:13:20.550000Z" <= st[0]["at"] <= "2023-11-14T22:13:20.850000Z",
           "stall_tick: flow_stalled by a tick, 20.55 <= at <= 20.85: %s" % st)
    report(len(rs) == 1 and rs[0]["duration_us"] == 1234567,
           "stall_tick: flow_resumed after exactly 1,234,567 us: %s" % rs)
    report(not [e for e in events if e["event"].startswith("flow_") and e["session"] == 40001],
           "stall_tick: the busy session never stalls")

    # RTO: data outstanding from 30,000, no ACK progress; the first segment resent at
    # 700,000; ACK of everything at 750,000: 720,000 us, cause retransmission_timeout.
    events, _, _ = run("stall_rto")
    st, rs = stall_events(events, "flow_stalled"), stall_events(events, "flow_resumed")
    report(len(st) == 1 and st[0]["cause"] == "no_ack" and st[0]["since"] == "2023-11-14T22:13:20.030000Z"
           and "2023-11-14T22:13:20.530000Z" <= st[0]["at"] <= "2023-11-14T22:13:20.600000Z",
           "stall_rto: one flow_stalled, no_ack since 20.030000, detected by 20.600000: %s" % st)
    report(len(rs) == 1 and rs[0]["cause"] == "retransmission_timeout" and rs[0]["duration_us"] == 720000
           and rs[0]["until"] == "2023-11-14T22:13:20.750000Z",
           "stall_rto: flow_resumed, retransmission_timeout, 720,000 us: %s" % rs)
    expect("stall_rto", closed_of(events) or {}, {
        "stall.count": 1, "stall.total_sec": 0.72, "stall.by_cause.retransmission_timeout": 1,
        "stall.by_cause.no_ack": 0, "stall.open": None, "stall.min_rtt_us": 6000,
    })

    # Open at the end: data at 30,000 never ACKed; stalled from the packet at 530,000 at
    # the latest; the capture ends at 1,030,000 with the stall open: no flow_resumed.
    events, _, _ = run("stall_open")
    st, rs = stall_events(events, "flow_stalled"), stall_events(events, "flow_resumed")
    c = closed_of(events) or {}
    opened = (c.get("stall") or {}).get("open") or []
    report(len(st) == 1 and st[0]["since"] == "2023-11-14T22:13:20.030000Z" and not rs,
           "stall_open: flow_stalled, no flow_resumed: %s %s" % (st, rs))
    report(len(opened) == 1 and opened[0]["cause"] == "no_ack"
           and opened[0]["since"] == "2023-11-14T22:13:20.030000Z"
           and opened[0]["duration_sec"] >= 1.0 and c["stall"]["count"] == 1
           and c["stall"]["by_cause"]["no_ack"] == 1,
           "stall_open: summary reports the open stall (>= 1.0 s): %s" % c.get("stall"))

    # An unanswered SYN (sent three times over 3 s) is no stall.
    events, _, _ = run("stall_syn")
    report(not [e for e in events if e["event"].startswith("flow_")],
           "stall_syn: an unanswered SYN is no stall")

    # A threshold above the stall: nothing. A bad value: one ConfigError naming the path.
    events, _, _ = run("stall_rto", stall_cfg={"threshold_ms": 800})
    report(not stall_events(events, "flow_stalled"), "stall_rto, threshold 800 ms: no stall")


def check_metrics():
    # app_pause spans 1.12 s of capture time. With interval_sec 0.1 every 100 ms boundary
    # makes metrics due; they go out at the session's next tick (the engine ticks about
    # every 250 ms of capture time), so there is at least one and at most one per tick.
    # Min RTT: initial 10,000 = server side 9,000 (SYN) + client side 1,000.
    events, _, _ = run("app_pause", rtt_cfg={"interval_sec": 0.1})
    m = [e for e in events if e["event"] == "metrics" and "rtt" in e]
    report(1 <= len(m) <= 1.12 / 0.25 + 1 and len({e["ts"] for e in m}) == len(m)
           and all(set(e["rtt"]) >= {"min_rtt_us", "server", "client", "requests", "responses"}
                   for e in m),
           "app_pause, interval 0.1 s: %d metrics events with rtt, one per tick at most" % len(m))
    if m:
        last = m[-1]["rtt"]
        report(last["min_rtt_us"] == 10000 and last["responses"]["acked_bytes"] <= 10000
               and last["responses"]["limit"] in ("network", "sender", "idle"),
               "app_pause: metrics values: %s" % last)
    events, _, _ = run("app_pause", rtt_cfg={"interval_sec": 0})
    report(not [e for e in events if e["event"] == "metrics" and "rtt" in e],
           "app_pause, interval 0: no rtt metrics")
    for cfg, path in (({"interval_sec": -1}, "analyzers.rtt-bdp.interval_sec"),
                      ({"samples_log": 3}, "analyzers.rtt-bdp.samples_log")):
        bad = os.path.join(WORK, "bad.json")
        with open(bad, "w") as f:
            json.dump({"analyzers": {"rtt-bdp": cfg}, "control": {"enabled": False}}, f)
        p = subprocess.run([BIN, "--check-config", "-c", bad], capture_output=True, text=True)
        report(p.returncode != 0 and path in p.stderr, "bad %s: error names %s" % (cfg, path))
    bad = os.path.join(WORK, "bad.json")
    with open(bad, "w") as f:
        json.dump({"analyzers": {"stall": {"threshold_ms": 0}}, "control": {"enabled": False}}, f)
    p = subprocess.run([BIN, "--check-config", "-c", bad], capture_output=True, text=True)
    report(p.returncode != 0 and "analyzers.stall.threshold_ms" in p.stderr,
           "bad threshold_ms: error names analyzers.stall.threshold_ms")


if __name__ == "__main__":
    sys.exit(main())
