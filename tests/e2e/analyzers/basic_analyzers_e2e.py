#!/usr/bin/env python3
"""basic_analyzers_e2e.py — the mtu, mss and rates analyzers on crafted captures.

    basic_analyzers_e2e.py STETHOSCOPE_BIN GEN_BASIC_ANALYZER_CAPTURES_BIN WORKDIR

Makes the captures (sizes.pcap, icmp.pcap, rates.pcap; their schedules are written down
in tests/support/gen_basic_analyzer_captures.cpp), reads each with the real binary in
filter mode with one worker (events on stdout as JSON lines) and checks:

  sizes   per session: mtu (largest IP packet and TCP payload per direction) and mss (the
          MSS of each SYN, null when absent; oversized segments per direction; largest
          payload; the offload note only when something was oversized), exact.
  icmp    the IPv4 fragmentation-needed and ICMPv6 packet-too-big errors: the quoting
          session's mtu.icmp (count, smallest MTU, reporter, direction, time) and one
          icmp_mtu event per error; the error quoting an unknown flow changes nothing.
          Then with a "tcp" capture filter: without "icmp": true no ICMP gets in (count
          0, no event); with it the logged capture filter carries the ICMP clause and the
          results equal the unfiltered run's; likewise in client mode.
  rates   every session metrics event: the counts of its interval (chained from the
          session's start, interval_sec exact) equal the schedule's, and the rates are
          counts / interval_sec; intervals of whole 10 ms slots inside the transfer carry
          the hand-computed steady rates; the global metrics events (no session) likewise
          over both sessions, with the running totals and sessions_active; session_closed
          totals, averages and peaks. With two workers: the same checks per session, and
          one global event per interval whose running totals add up.
  config  bad values of each analyzer's keys fail --check-config with the JSON path.

Each check prints PASS/FAIL; the last line is 'N passed, N failed'; exit status 1 when
anything failed.
"""
import datetime
import json
import os
import subprocess
import sys

RUN_TIMEOUT = 120
T0_US = 1_700_000_000_000_000  # the captures' t0: 2023-11-14T22:13:20Z
ICMP_CLAUSE = ("(icmp[icmptype] == icmp-unreach and icmp[icmpcode] == 4) or "
               "(icmp6 and ip6[40] == 2)")

results = {"passed": 0, "failed": 0}


def check(name, problems):
    if problems:
        results["failed"] += 1
        print("FAIL %s" % name)
        for p in problems:
            print("     %s" % p)
    else:
        results["passed"] += 1
        print("PASS %s" % name)


def expect(problems, what, got, want):
    if got != want:
        problems.append("%s: expected %r, got %r" % (what, want, got))


def expect_close(problems, what, got, want, tolerance=0.0015):
    if got is None or abs(got - want) > tolerance:
        problems.append("%s: expected %.4f, got %r" % (what, want, got))


def iso(us):
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_us(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (t - datetime.datetime(1970, 1, 1)) // datetime.timedelta(microseconds=1)


class Run:
    """One stethoscope run: its events (stdout) and log (stderr)."""

    def __init__(self, binary, workdir, name, capture, config):
        path = os.path.join(workdir, name + ".json")
        with open(path, "w") as f:
            json.dump(config, f)
        p = subprocess.run([binary, "-c", path, "-r", capture, "--log-level", "info"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        self.rc = p.returncode
        self.stderr = p.stderr.decode(errors="replace")
        self.events = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        self.problems = [] if self.rc == 0 else ["exit %d: %s" % (self.rc, self.stderr[-800:])]

    def of(self, kind):
        return [e for e in self.events if e.get("event") == kind]

    def closed(self):
        return {e["session"]: e for e in self.of("session_closed")}


def config(capture=None, analyzers=None):
    # No control plane: its fixed port could clash with tests running in parallel. Only
    # the analyzers under test: the others have their own tests.
    c = {"capture": dict({"mode": "filter", "workers": 1}, **(capture or {})),
         "control": {"enabled": False},
         "analyzers": dict({"rtt-bdp": {"enabled": False}, "stall": {"enabled": False}},
                           **(analyzers or {}))}
    return c


# --- sizes.pcap ----------------------------------------------------------------------------
# Per session (client port): (requests largest IP, payload), (responses largest IP,
# payload); client MSS, server MSS; oversized (requests, responses). Derivations are in
# gen_sizes(): IPv4 = 40 + payload, IPv6 = 60 + payload.
SIZES = {
    40101: ((2840, 2800), (4040, 4000), 1460, 1400, (1, 2)),  # 2800 > 1400; 2920, 4000 > 1460
    40102: ((2040, 2000), (3040, 3000), None, 1460, (1, 0)),  # 2000 > 1460; client MSS unknown
    40103: ((560, 500), (1500, 1440), 1440, 1440, (0, 0)),    # IPv6, nothing oversized
}


def check_sizes(binary, workdir, captures):
    run = Run(binary, workdir, "sizes", os.path.join(captures, "sizes.pcap"), config())
    closed = run.closed()
    for port, (req, resp, client_mss, server_mss, oversized) in SIZES.items():
        p = list(run.problems)
        e = closed.get(port)
        if e is None:
            check("sizes %d" % port, p + ["no session_closed for client port %d" % port])
            continue
        mtu, mss = e.get("mtu", {}), e.get("mss", {})
        for d, (ip, payload) in (("requests", req), ("responses", resp)):
            expect(p, "mtu.%s.largest_ip_packet" % d, mtu.get(d, {}).get("largest_ip_packet"), ip)
            expect(p, "mtu.%s.largest_tcp_payload" % d, mtu.get(d, {}).get("largest_tcp_payload"),
                   payload)
            expect(p, "mss.%s.largest_payload" % d, mss.get(d, {}).get("largest_payload"), payload)
        expect(p, "mss.client", mss.get("client", "absent"), client_mss)
        expect(p, "mss.server", mss.get("server", "absent"), server_mss)
        expect(p, "mss.requests.oversized_segments",
               mss.get("requests", {}).get("oversized_segments"), oversized[0])
        expect(p, "mss.responses.oversized_segments",
               mss.get("responses", {}).get("oversized_segments"), oversized[1])
        expect(p, "mss has a note", "note" in mss, sum(oversized) > 0)
        expect(p, "mtu.icmp.count", mtu.get("icmp", {}).get("count"), 0)
        # Milliseconds long: no rates interval was reported, so no peak.
        for d in DIRS:
            expect(p, "rates.%s.peak_per_sec" % d,
                   e.get("rates", {}).get(d, {}).get("peak_per_sec", "absent"), None)
        check("sizes %d (mtu, mss)" % port, p)


# --- icmp.pcap -----------------------------------------------------------------------------
# gen_icmp(): session 40201 got two fragmentation-needed errors (MTU 1400 at t0+1 s from
# 198.18.0.254, MTU 1300 at t0+2 s from 198.18.0.253), session 40202 one packet-too-big
# (MTU 1280 at t0+3 s from 2001:db8:1::fe, quoting a server packet); the error at t0+1.5 s
# quotes port 40999, which is no session.
ICMP_SESSIONS = {
    40201: {"requests": (1500, 1460), "responses": (140, 100),
            "icmp": {"count": 2, "min_mtu": 1300, "reporter": "198.18.0.253",
                     "direction": "requests", "at": iso(T0_US + 2_000_000), "other_errors": 0}},
    40202: {"requests": (260, 200), "responses": (1500, 1440),
            "icmp": {"count": 1, "min_mtu": 1280, "reporter": "2001:db8:1::fe",
                     "direction": "responses", "at": iso(T0_US + 3_000_000), "other_errors": 0}},
}
ICMP_EVENTS = [  # (client port, direction, mtu, reporter, ip_version, type, code)
    (40201, "requests", 1400, "198.18.0.254", 4, 3, 4),
    (40201, "requests", 1300, "198.18.0.253", 4, 3, 4),
    (40202, "responses", 1280, "2001:db8:1::fe", 6, 2, 0),
]
NO_ICMP = {"count": 0, "min_mtu": None, "reporter": None, "direction": None, "at": None,
           "other_errors": 0}


def icmp_problems(run, with_icmp):
    p = list(run.problems)
    closed = run.closed()
    expect(p, "sessions", sorted(closed), sorted(ICMP_SESSIONS))
    for port, want in ICMP_SESSIONS.items():
        mtu = closed.get(port, {}).get("mtu", {})
        for d in ("requests", "responses"):
            got = mtu.get(d, {})
            expect(p, "%d mtu.%s" % (port, d),
                   (got.get("largest_ip_packet"), got.get("largest_tcp_payload")), want[d])
        expect(p, "%d mtu.icmp" % port, mtu.get("icmp"), want["icmp"] if with_icmp else NO_ICMP)
    events = [(e.get("session"), e.get("direction"), e.get("mtu"), e.get("reporter"),
               e.get("ip_version"), e.get("type"), e.get("code")) for e in run.of("icmp_mtu")]
    expect(p, "icmp_mtu events", events, ICMP_EVENTS if with_icmp else [])
    return p


def capture_filter_line(stderr):
    lines = [l for l in stderr.splitlines() if "capture filter: " in l]
    return lines[-1].split("capture filter: ", 1)[1] if lines else None


def check_icmp(binary, workdir, captures):
    pcap = os.path.join(captures, "icmp.pcap")
    run = Run(binary, workdir, "icmp", pcap, config())
    check("icmp: both errors matched, unknown flow ignored (no filter)", icmp_problems(run, True))

    run = Run(binary, workdir, "icmp_filter_off", pcap, config({"filter": "tcp"}))
    p = icmp_problems(run, False)
    line = capture_filter_line(run.stderr)
    if line is None or "icmp" in line:
        p.append("capture filter without analyzers.mtu.icmp: %r" % line)
    check("icmp: a tcp filter without \"icmp\": true lets no ICMP in", p)

    run = Run(binary, workdir, "icmp_filter_on", pcap,
              config({"filter": "tcp"}, {"mtu": {"icmp": True}}))
    p = icmp_problems(run, True)
    line = capture_filter_line(run.stderr)
    if line is None or ICMP_CLAUSE not in line or "tcp" not in line:
        p.append("capture filter with analyzers.mtu.icmp: %r (want tcp and %s)" % (line, ICMP_CLAUSE))
    check("icmp: \"icmp\": true ORs the ICMP clause into the capture filter", p)

    # Client mode: the prototype's filter lets only the client's TCP in; with "icmp": true
    # the routers' errors to the client reach session 40201 too (the IPv6 session is not
    # the configured client's, so it is not captured).
    client = {"mode": "client", "local_ip": "198.18.0.1", "remote_ip": "198.18.1.1",
              "remote_port": 80}
    run = Run(binary, workdir, "icmp_client_mode", pcap, config(client, {"mtu": {"icmp": True}}))
    p = list(run.problems)
    closed = run.closed()
    expect(p, "sessions", sorted(closed), [40201])
    expect(p, "40201 mtu.icmp", closed.get(40201, {}).get("mtu", {}).get("icmp"),
           ICMP_SESSIONS[40201]["icmp"])
    line = capture_filter_line(run.stderr)
    if line is None or ICMP_CLAUSE not in line or "198.18.0.1" not in line:
        p.append("client-mode capture filter: %r" % line)
    check("icmp: client mode with \"icmp\": true", p)


# --- rates.pcap ----------------------------------------------------------------------------
DIRS = ("requests", "responses")


def rates_schedule():
    """Every packet of rates.pcap as (offset_us, client port, direction, payload, ip bytes),
    as gen_rates() writes them."""
    pkts = []
    for port, base in ((41001, 0), (41002, 300)):  # SYN (MSS option), SYN-ACK, ACK
        pkts += [(base, port, "requests", 0, 44), (base + 100, port, "responses", 0, 44),
                 (base + 200, port, "requests", 0, 40)]
    for k in range(1, 301):
        slot = k * 10_000
        pkts += [(slot + 1000, 41001, "responses", 1000, 1040),
                 (slot + 1100, 41001, "requests", 0, 40),
                 (slot + 5000, 41002, "responses", 500, 540),
                 (slot + 5100, 41002, "requests", 0, 40)]
    for port, base in ((41001, 3_011_000), (41002, 3_015_000)):  # FIN, ACK, FIN, ACK
        pkts += [(base, port, "requests", 0, 40), (base + 100, port, "responses", 0, 40),
                 (base + 200, port, "responses", 0, 40), (base + 300, port, "requests", 0, 40)]
    return sorted(pkts)


SCHEDULE = rates_schedule()
CLOSE_US = 3_011_000  # the first FIN: after it, intervals are no longer steady
# Hand-computed (gen_rates()): steady rates per whole 10 ms slot, per second.
STEADY = {
    41001: {"requests": (100, 0, 4000), "responses": (100, 100_000, 104_000)},
    41002: {"requests": (100, 0, 4000), "responses": (100, 50_000, 54_000)},
    None: {"requests": (200, 0, 8000), "responses": (200, 150_000, 158_000)},
}
TOTALS = {  # (packets, payload bytes, IP bytes) per direction
    41001: {"requests": (304, 0, 12_164), "responses": (303, 300_000, 312_124)},
    41002: {"requests": (304, 0, 12_164), "responses": (303, 150_000, 162_124)},
}
START_US = {41001: 0, 41002: 300}
LAST_US = {41001: 3_011_300, 41002: 3_015_300}


def counted(port, start, end, first):
    """(packets, payload, ip) per direction of `port` (None: all) in (start, end] —
    [start, end] for a session's first interval."""
    out = {d: [0, 0, 0] for d in DIRS}
    for ts, p, d, payload, ip in SCHEDULE:
        if (port is None or p == port) and (start <= ts if first else start < ts) and ts <= end:
            c = out[d]
            c[0], c[1], c[2] = c[0] + 1, c[1] + payload, c[2] + ip
    return out


def interval_problems(p, label, rates, port, start, first):
    """Checks one metrics "rates" object for (start, start + interval]; returns the end."""
    secs = rates.get("interval_sec")
    if not isinstance(secs, (int, float)) or secs <= 0:
        p.append("%s: bad interval_sec %r" % (label, secs))
        return None
    end = start + round(secs * 1e6)
    want = counted(port, start, end, first)
    steady = not first and (end - start) % 10_000 == 0 and end < CLOSE_US
    for d in DIRS:
        got = rates.get(d, {})
        n, payload, ip = want[d]
        expect(p, "%s %s counts" % (label, d),
               (got.get("packets"), got.get("payload_bytes"), got.get("ip_bytes")), (n, payload, ip))
        per_sec = got.get("per_sec", {})
        for key, v in (("packets", n), ("payload_bytes", payload), ("ip_bytes", ip)):
            expect_close(p, "%s %s.per_sec.%s" % (label, d, key), per_sec.get(key), v / secs)
        if steady:
            expect(p, "%s %s steady rates" % (label, d),
                   (per_sec.get("packets"), per_sec.get("payload_bytes"), per_sec.get("ip_bytes")),
                   STEADY[port][d])
    return end, steady


def check_session_rates(run, port, label=""):
    p = list(run.problems)
    uid = run.closed().get(port, {}).get("uid")
    metrics = [e for e in run.of("metrics") if e.get("uid") == uid and "rates" in e]
    start, steady_seen, peaks = START_US[port], 0, {d: [0, 0, 0] for d in DIRS}
    for i, e in enumerate(metrics):
        r = interval_problems(p, "%d interval %d" % (port, i + 1), e["rates"], port, start, i == 0)
        if r is None:
            break
        end, steady = r
        expect(p, "%d interval %d event ts" % (port, i + 1), e.get("ts"), iso(T0_US + end))
        steady_seen += steady
        for d in DIRS:
            for j, k in enumerate(("packets", "payload_bytes", "ip_bytes")):
                peaks[d][j] = max(peaks[d][j], e["rates"][d].get("per_sec", {}).get(k) or 0)
        start = end
    if len(metrics) < 2 or steady_seen < 1:
        p.append("%d: %d metrics events, %d steady: want >= 2 and >= 1 over a 3 s transfer"
                 % (port, len(metrics), steady_seen))
    summary = run.closed().get(port, {}).get("rates", {})
    duration = (LAST_US[port] - START_US[port]) / 1e6
    expect_close(p, "%d duration_sec" % port, summary.get("duration_sec"), duration, 1e-9)
    for d in DIRS:
        got = summary.get(d, {})
        n, payload, ip = TOTALS[port][d]
        expect(p, "%d %s totals" % (port, d),
               (got.get("packets"), got.get("payload_bytes"), got.get("ip_bytes")), (n, payload, ip))
        avg, peak = got.get("avg_per_sec") or {}, got.get("peak_per_sec") or {}
        for j, (name, v) in enumerate((("packets", n), ("payload_bytes", payload), ("ip_bytes", ip))):
            expect_close(p, "%d %s.avg_per_sec.%s" % (port, d, name), avg.get(name), v / duration)
            expect_close(p, "%d %s.peak_per_sec.%s" % (port, d, name), peak.get(name), peaks[d][j])
    check("rates session %d%s: %d metrics events, %d steady" % (port, label, len(metrics), steady_seen), p)


def check_global_rates(run):
    p = list(run.problems)
    metrics = [e for e in run.of("metrics") if "uid" not in e and "rates" in e]
    start, steady_seen = 0, 0  # from the first session's start: R1's SYN
    for i, e in enumerate(metrics):
        rates = e["rates"]
        label = "global interval %d" % (i + 1)
        expect(p, label + " scope", rates.get("scope"), "all")
        r = interval_problems(p, label, rates, None, start, i == 0)
        if r is None:
            break
        end, steady = r
        steady_seen += steady
        totals = counted(None, -1, end, False)
        for d in DIRS:
            got = rates.get(d, {})
            total = got.get("total", {})
            expect(p, "%s %s totals" % (label, d),
                   (total.get("packets"), total.get("payload_bytes"), total.get("ip_bytes")),
                   tuple(totals[d]))
        if end < CLOSE_US:
            expect(p, label + " sessions_active", rates.get("sessions_active"), 2)
        start = end
    if len(metrics) < 2 or steady_seen < 1:
        p.append("%d global metrics events, %d steady: want >= 2 and >= 1" % (len(metrics), steady_seen))
    check("rates over all sessions: %d global metrics events, %d steady" % (len(metrics), steady_seen), p)


def check_two_workers(run2):
    """Two workers: per-session metrics as with one; one global event per interval, each
    at least interval_sec long, its running totals adding up."""
    for port in (41001, 41002):
        check_session_rates(run2, port, " (2 workers)")
    p = list(run2.problems)
    # (Their "ts" is the host's: with several workers the reader's clock, which may be
    # ahead of the interval's end; the intervals themselves are checked here.)
    glob = [e for e in run2.of("metrics") if "uid" not in e and "rates" in e]
    if len(glob) != 2:
        p.append("%d global metrics events, want 2 (as with one worker)" % len(glob))
    packets = {d: 0 for d in DIRS}
    for e in glob:
        r = e["rates"]
        if r.get("interval_sec", 0) < 1:
            p.append("global interval_sec %r < 1" % r.get("interval_sec"))
        for d in DIRS:
            packets[d] += r[d]["packets"]
            expect(p, "global %s total packets at %s" % (d, e["ts"]),
                   r[d].get("total", {}).get("packets"), packets[d])
    check("rates with 2 workers: %d global metrics events" % len(glob), p)


def check_rates(binary, workdir, captures):
    pcap = os.path.join(captures, "rates.pcap")
    run = Run(binary, workdir, "rates", pcap, config())
    for port in (41001, 41002):
        check_session_rates(run, port)
    check_global_rates(run)
    check_two_workers(Run(binary, workdir, "rates_w2", pcap, config({"workers": 2})))


# --- config errors -------------------------------------------------------------------------
BAD_CONFIGS = [
    ({"mtu": {"icmp": "yes"}}, "analyzers.mtu.icmp: expected true or false"),
    ({"mtu": {"mtu": 1500}}, "analyzers.mtu.mtu: unknown key"),
    ({"mss": {"max": 1}}, "analyzers.mss.max: unknown key"),
    ({"rates": {"interval_sec": 0}}, "analyzers.rates.interval_sec: expected number > 0"),
    ({"rates": {"interval_sec": -1}}, "analyzers.rates.interval_sec: expected number"),
    ({"rates": {"interval_sec": "1"}}, "analyzers.rates.interval_sec: expected number"),
]


def check_config_errors(binary, workdir, captures):
    read = ["-r", os.path.join(captures, "sizes.pcap")]
    for analyzers, message in BAD_CONFIGS:
        path = os.path.join(workdir, "bad.json")
        with open(path, "w") as f:
            json.dump(config(None, analyzers), f)
        r = subprocess.run([binary, "-c", path, "--check-config"] + read, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        err = r.stderr.decode(errors="replace")
        p = []
        expect(p, "exit code", r.returncode, 2)
        if message not in err:
            p.append("stderr %r lacks %r" % (err.strip()[-300:], message))
        check("config error %s" % json.dumps(analyzers), p)
    path = os.path.join(workdir, "good.json")
    with open(path, "w") as f:
        json.dump(config(None, {"mtu": {"icmp": True}, "mss": {}, "rates": {"interval_sec": 0.5}}), f)
    r = subprocess.run([binary, "-c", path, "--check-config"] + read, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    p = []
    expect(p, "exit code", r.returncode, 0)
    for name in ("mtu", "mss", "rates"):
        if "analyzer %s " % name not in r.stdout.decode():
            p.append("--check-config did not load analyzer %s: %s" % (name, r.stdout.decode()))
    check("config: good analyzer sections load", p)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    binary, gen, workdir = sys.argv[1:]
    captures = os.path.join(workdir, "captures")
    os.makedirs(captures, exist_ok=True)
    subprocess.run([gen, captures], check=True, stdout=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
    check_sizes(binary, workdir, captures)
    check_icmp(binary, workdir, captures)
    check_rates(binary, workdir, captures)
    check_config_errors(binary, workdir, captures)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
