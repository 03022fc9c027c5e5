#!/usr/bin/env python3
"""engine_e2e.py — end-to-end test of the TCP engine on crafted captures.

    engine_e2e.py STETHOSCOPE_BIN GEN_ENGINE_CAPTURES_BIN WORKDIR [--case NAME ...]
                  [--no-tshark]

Runs GEN_ENGINE_CAPTURES_BIN WORKDIR/captures, then reads every capture NAME.pcap with
stethoscope in filter mode, files output on, once with one worker and once with two
(the sharded pipeline), and checks the outcome against NAME.expected/:

  * the session folders (exactly, unless expect.json says folders_exact: false) and
    byte-identical requests.bin / responses.bin (a missing file matches an empty one);
  * per listed session, its session_closed event in sessions.ndjson: reason, delivered
    bytes, requests/responses gaps and gap_bytes, the exact gap list, analysis bounds;
    and the `gap` events on stdout (when no more than 25, before sampling starts);
  * the number of lines in sessions.ndjson;
  * capture_stats fields (exact), capture_stats.fragments fields (exact) and
    capture_stats.decode (exact, apart from the reasons listed in decode_ignore).

The two runs must agree (streams, listed sessions' events without ts/uid, the histogram
of close reasons, capture_stats without ts/workers). Finally each stream is compared with
`tshark -q -z follow,tcp,raw,N` on the same capture; a difference is accepted only when
expect.json declares it (tshark_differences) with its reason.

Each check prints PASS/FAIL with its reasons; the last line is 'N passed, N failed' and
the exit status is non-zero when anything failed.
"""
import argparse
import collections
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

RUN_TIMEOUT = int(os.environ.get("STH_E2E_TIMEOUT", "300"))
GAP_EVENTS_UNSAMPLED = 25  # the engine sends the first 25 gap events of a session


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def describe_difference(expected, actual):
    at = first_difference(expected, actual)
    return "expected %d bytes, got %d; first difference at offset %d" % (
        len(expected), len(actual), at)


def ts_us(text):
    """Microseconds since the epoch of an event's RFC 3339 UTC timestamp."""
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return (t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // \
        datetime.timedelta(microseconds=1)


def gap_key(g):
    return (g["direction"], int(g["offset"]), int(g["length"]), g["reason"])


class Case:
    def __init__(self, captures, name):
        self.name = name
        self.expected_dir = os.path.join(captures, name + ".expected")
        with open(os.path.join(self.expected_dir, "expect.json")) as f:
            self.expect = json.load(f)
        self.capture = os.path.join(captures, self.expect["capture"])

    def expected_stream(self, folder, direction):
        return read_bytes(os.path.join(self.expected_dir, folder, direction + ".bin")) or b""


class Run:
    """One stethoscope run of a case and everything it produced."""

    def __init__(self, stethoscope, case, workers, workdir):
        self.case = case
        self.workers = workers
        self.out = os.path.join(workdir, "out", "%s.w%d" % (case.name, workers))
        self.reasons = []
        shutil.rmtree(self.out, ignore_errors=True)
        os.makedirs(self.out)
        config = {
            "capture": dict({"mode": "filter", "workers": workers},
                            **case.expect["config"].get("capture", {})),
            "io": {"output": {"files": {"enabled": True, "dir": self.out}}},
        }
        if case.expect["config"].get("reassembly"):
            config["reassembly"] = case.expect["config"]["reassembly"]
        config_path = self.out + ".json"
        with open(config_path, "w") as f:
            json.dump(config, f)
        cmd = [stethoscope, "--log-level", "warning", "-c", config_path, "-r", case.capture]
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=RUN_TIMEOUT)
            self.rc, stdout, self.stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            self.rc, stdout, self.stderr = None, e.stdout or b"", e.stderr or b""
            self.fail("timed out after %ds" % RUN_TIMEOUT)
        if self.rc not in (0, None):
            self.fail("exit code %s; stderr: %s" % (self.rc, self.stderr[:1500].decode(errors="replace")))
        self.events = []
        for line in stdout.decode(errors="replace").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.fail("stdout line is not JSON: %r" % line[:200])
        stats = [e for e in self.events if e.get("event") == "capture_stats"]
        self.stats = stats[-1] if stats else None
        if self.stats is None:
            self.fail("no capture_stats event on stdout")
        self.closed = []
        ndjson = os.path.join(self.out, "sessions.ndjson")
        if os.path.exists(ndjson):
            with open(ndjson) as f:
                for line in f:
                    if line.strip():
                        try:
                            self.closed.append(json.loads(line))
                        except ValueError:
                            self.fail("sessions.ndjson line is not JSON: %r" % line[:200])
        else:
            self.fail("no sessions.ndjson")
        self.folders = sorted(d for d in os.listdir(self.out)
                              if os.path.isdir(os.path.join(self.out, d)))
        # session_closed events per (client, server), in order of uid = order of start.
        self.closed_by_pair = collections.defaultdict(list)
        for ev in self.closed:
            self.closed_by_pair[(ev.get("client"), ev.get("server"))].append(ev)
        for evs in self.closed_by_pair.values():
            evs.sort(key=lambda e: e.get("uid", 0))
        self.gap_events = collections.defaultdict(list)
        for ev in self.events:
            if ev.get("event") == "gap":
                self.gap_events[ev.get("uid")].append(ev)

    def fail(self, reason):
        self.reasons.append(reason)

    def stream(self, folder, direction):
        return read_bytes(os.path.join(self.out, folder, direction + ".bin"))

    def closed_event(self, session, index):
        evs = self.closed_by_pair.get((session["client"], session["server"]), [])
        return evs[index] if index < len(evs) else None

    def check(self):
        exp = self.case.expect
        expected_folders = [s["folder"] for s in exp["sessions"]]
        if exp["folders_exact"]:
            if sorted(expected_folders) != self.folders:
                self.fail("session folders differ: expected %s, got %s" % (
                    sorted(expected_folders), self.folders[:20]))
        else:
            missing = sorted(set(expected_folders) - set(self.folders))
            if missing:
                self.fail("session folders missing: %s" % missing)
        if len(self.closed) != exp["session_count"]:
            self.fail("sessions.ndjson has %d lines, expected %d" % (
                len(self.closed), exp["session_count"]))
        seen = collections.Counter()
        for s in exp["sessions"]:
            pair = (s["client"], s["server"])
            self.check_session(s, seen[pair])
            seen[pair] += 1
        self.check_stats()
        return self.reasons

    def check_session(self, s, index):
        folder = s["folder"]
        for direction in ("requests", "responses"):
            expected = self.case.expected_stream(folder, direction)
            actual = self.stream(folder, direction)
            if actual is None:
                if expected and folder in self.folders:
                    self.fail("%s/%s.bin missing" % (folder, direction))
            elif actual != expected:
                self.fail("%s/%s.bin differs: %s" % (folder, direction,
                                                      describe_difference(expected, actual)))
        ev = self.closed_event(s, index)
        if ev is None:
            self.fail("%s: no session_closed event for %s -> %s" % (folder, s["client"], s["server"]))
            return
        if s["reason"] is not None and ev.get("reason") != s["reason"]:
            self.fail("%s: reason %r, expected %r" % (folder, ev.get("reason"), s["reason"]))
        if ev.get("reason") in s.get("reason_not", []):
            self.fail("%s: reason %r, expected none of %s" % (folder, ev.get("reason"),
                                                              s["reason_not"]))
        if s.get("closed_by_us") is not None:
            try:
                closed = ts_us(ev.get("ts", ""))
            except ValueError:
                closed = None
            if closed is None or closed > s["closed_by_us"]:
                self.fail("%s: closed at %s, expected by %.6f s (capture time)" % (
                    folder, ev.get("ts"), s["closed_by_us"] / 1e6))
        gaps = [gap_key(g) for g in s["gaps"]]
        for direction in ("requests", "responses"):
            d = ev.get(direction, {})
            want_n = sum(1 for g in gaps if g[0] == direction)
            want_b = sum(g[2] for g in gaps if g[0] == direction)
            want_bytes = s[direction + "_bytes"]
            if d.get("gaps") != want_n or d.get("gap_bytes") != want_b:
                self.fail("%s: %s gaps=%s gap_bytes=%s, expected %d and %d" % (
                    folder, direction, d.get("gaps"), d.get("gap_bytes"), want_n, want_b))
            if d.get("bytes") != want_bytes:
                self.fail("%s: %s bytes=%s, expected %d" % (folder, direction, d.get("bytes"),
                                                            want_bytes))
        got_gaps = sorted(gap_key(g) for g in ev.get("gaps", []))
        if "gaps_not_listed" not in ev and got_gaps != sorted(gaps):
            self.fail("%s: gap list %s, expected %s" % (folder, got_gaps, sorted(gaps)))
        if len(gaps) <= GAP_EVENTS_UNSAMPLED:
            got_events = sorted(gap_key(g) for g in self.gap_events.get(ev.get("uid"), []))
            if got_events != sorted(gaps):
                self.fail("%s: gap events %s, expected %s" % (folder, got_events, sorted(gaps)))
        analysis = ev.get("analysis", {})
        for k, minimum in s["analysis_min"].items():
            if analysis.get(k, 0) < minimum:
                self.fail("%s: analysis.%s = %s, expected >= %d" % (folder, k, analysis.get(k),
                                                                    minimum))
        for k, maximum in s.get("analysis_max", {}).items():
            if analysis.get(k, 0) > maximum:
                self.fail("%s: analysis.%s = %s, expected <= %d" % (folder, k, analysis.get(k),
                                                                    maximum))

    def check_stats(self):
        if self.stats is None:
            return
        exp = self.case.expect
        for k, v in exp["stats"].items():
            if self.stats.get(k) != v:
                self.fail("capture_stats.%s = %s, expected %s" % (k, self.stats.get(k), v))
        frags = self.stats.get("fragments", {})
        for k, v in exp["fragments"].items():
            if frags.get(k) != v:
                self.fail("capture_stats.fragments.%s = %s, expected %s" % (k, frags.get(k), v))
        ignore = set(exp["decode_ignore"]) | {"ok"}
        decode = {k: v for k, v in self.stats.get("decode", {}).items() if v and k not in ignore}
        if decode != exp["decode"]:
            self.fail("capture_stats.decode = %s, expected %s" % (decode, exp["decode"]))

    def normalized(self):
        """What must not depend on the number of workers."""
        exp = self.case.expect
        listed = {}
        seen = collections.Counter()
        for s in exp["sessions"]:
            pair = (s["client"], s["server"])
            ev = self.closed_event(s, seen[pair])
            seen[pair] += 1
            if ev is not None:
                gaps = sorted(gap_key(g) for g in self.gap_events.get(ev.get("uid"), []))
                ev = {k: v for k, v in ev.items() if k not in ("ts", "uid")}
            else:
                gaps = None
            listed[s["folder"]] = (ev, gaps)
        folders = self.folders if exp["folders_exact"] else [s["folder"] for s in exp["sessions"]]
        streams = {}
        for f in folders:
            streams[f] = tuple(hashlib.sha256(self.stream(f, d) or b"").hexdigest()
                               for d in ("requests", "responses"))
        stats = None
        if self.stats is not None:
            stats = {k: v for k, v in self.stats.items() if k not in ("ts", "workers")}
        reasons = collections.Counter(ev.get("reason") for ev in self.closed)
        return {"folders": folders, "streams": streams, "sessions": listed,
                "close_reasons": dict(reasons), "capture_stats": stats}


def diff_normalized(a, b):
    out = []
    for key in a:
        if a[key] == b[key]:
            continue
        if isinstance(a[key], dict):
            for k in sorted(set(a[key]) | set(b[key]), key=str):
                if a[key].get(k) != b[key].get(k):
                    out.append("%s.%s: workers=1 %s / workers=2 %s" % (
                        key, k, json.dumps(a[key].get(k))[:300], json.dumps(b[key].get(k))[:300]))
        else:
            out.append("%s: workers=1 %s / workers=2 %s" % (key, json.dumps(a[key])[:300],
                                                            json.dumps(b[key])[:300]))
    return out


# ------------------------------------------------------------------------------ tshark

def tshark_streams(capture):
    """{(endpoint, endpoint) unordered: [stream index, ...] in index order}"""
    p = subprocess.run(
        ["tshark", "-n", "-r", capture, "-T", "fields", "-E", "separator=/t",
         "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
         "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
    first = {}
    for line in p.stdout.decode().splitlines():
        f = line.split("\t")
        if len(f) < 7 or not f[0]:
            continue
        stream = int(f[0])
        if stream in first:
            continue
        # ip.src may list several addresses (tunnels, ICMP): take the last.
        src4, src6, sport, dst4, dst6, dport = f[1:7]
        src = "[%s]" % src6.split(",")[-1] if src6 else src4.split(",")[-1]
        dst = "[%s]" % dst6.split(",")[-1] if dst6 else dst4.split(",")[-1]
        first[stream] = frozenset(("%s:%s" % (src, sport.split(",")[0]),
                                   "%s:%s" % (dst, dport.split(",")[0])))
    by_pair = collections.defaultdict(list)
    for stream in sorted(first):
        by_pair[first[stream]].append(stream)
    return by_pair


MISSING_MARKER = re.compile(rb"\[(\d+) bytes missing in capture file\]\x00?")


def tshark_follow(capture, streams):
    """{stream: {node text: [bytes, [(offset, length) of each missing-data marker]]}}

    tshark writes "[N bytes missing in capture file]" into a followed stream where a
    segment is missing and the peer's ACK shows it was sent; such a marker line is taken
    out of the bytes and returned as a gap at the offset where it stood.
    """
    cmd = ["tshark", "-n", "-r", capture, "-q"]
    for s in streams:
        cmd += ["-z", "follow,tcp,raw,%d" % s]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       timeout=RUN_TIMEOUT)
    out = {}
    current = None
    nodes = []
    for line in p.stdout.decode(errors="replace").splitlines():
        m = re.match(r"Filter: tcp\.stream eq (\d+)", line)
        if m:
            current = int(m.group(1))
            out[current] = {}
            nodes = []
            continue
        m = re.match(r"Node (\d): (.*)$", line)
        if m and current is not None:
            nodes.append(m.group(2).strip())
            out[current][nodes[-1]] = [bytearray(), []]
            continue
        if current is None or len(nodes) < 2 or line.startswith("====="):
            continue
        node = nodes[1] if line.startswith("\t") else nodes[0]
        text = line.strip()
        if not re.fullmatch(r"[0-9a-fA-F]*", text):
            continue
        chunk = bytes.fromhex(text)
        stream = out[current][node]
        marker = MISSING_MARKER.fullmatch(chunk)
        if marker:
            stream[1].append((len(stream[0]), int(marker.group(1))))
        else:
            stream[0] += chunk
    return out


def check_tshark(case):
    """Returns (failures, notes)."""
    failures, notes = [], []
    exp = case.expect
    by_pair = tshark_streams(case.capture)
    wanted = {}
    seen = collections.Counter()
    for s in exp["sessions"]:
        pair = frozenset((s["client"], s["server"]))
        streams = by_pair.get(pair, [])
        if seen[pair] < len(streams):
            wanted[s["folder"]] = streams[seen[pair]]
        else:
            failures.append("%s: tshark has no TCP stream for it (%d streams for %s <-> %s)" % (
                s["folder"], len(streams), s["client"], s["server"]))
        seen[pair] += 1
    follow = tshark_follow(case.capture, sorted(set(wanted.values()))) if wanted else {}
    for s in exp["sessions"]:
        if s["folder"] not in wanted:
            continue
        data = follow.get(wanted[s["folder"]], {})
        node_of = {"requests": s["client"], "responses": s["server"]}
        for direction in ("requests", "responses"):
            expected = case.expected_stream(s["folder"], direction)
            theirs, their_gaps = data.get(node_of[direction], [b"", []])
            theirs = bytes(theirs)
            declared = s["tshark_differences"].get(direction)
            label = "%s/%s" % (s["folder"], direction)
            # Where tshark says bytes are missing, we must report a gap of the same extent.
            ours = {(g["offset"], g["length"]) for g in s["gaps"] if g["direction"] == direction}
            for offset, length in their_gaps:
                if (offset, length) not in ours and not declared:
                    failures.append("%s: tshark marks %d bytes missing at offset %d, the "
                                    "expected gaps are %s" % (label, length, offset, sorted(ours)))
            if theirs == expected:
                if declared:
                    notes.append("%s: declared difference not seen (tshark agrees): %s" % (
                        label, declared))
            elif declared:
                notes.append("%s: deliberate difference (%s): %s" % (
                    label, describe_difference(expected, theirs), declared))
            else:
                failures.append("%s: tshark follow,tcp,raw,%d differs from the expected stream: %s" % (
                    label, wanted[s["folder"]], describe_difference(expected, theirs)))
    return failures, notes


# ------------------------------------------------------------------------------ main

class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failed_names = []

    def report(self, name, reasons, notes=()):
        if reasons:
            self.failed += 1
            self.failed_names.append(name)
            print("FAIL %s" % name)
            for r in reasons:
                print("     - %s" % r)
        else:
            self.passed += 1
            print("PASS %s" % name)
        for n in notes:
            print("     note: %s" % n)
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stethoscope")
    ap.add_argument("gen_engine_captures")
    ap.add_argument("workdir")
    ap.add_argument("--case", action="append", default=[], help="run only these cases")
    ap.add_argument("--no-tshark", action="store_true", help="skip the tshark cross-check")
    args = ap.parse_args()
    args.stethoscope = os.path.abspath(args.stethoscope)
    args.gen_engine_captures = os.path.abspath(args.gen_engine_captures)
    args.workdir = os.path.abspath(args.workdir)

    captures = os.path.join(args.workdir, "captures")
    shutil.rmtree(captures, ignore_errors=True)
    gen = subprocess.run([args.gen_engine_captures, captures], stdout=subprocess.DEVNULL)
    if gen.returncode != 0:
        print("gen_engine_captures failed with exit code %d" % gen.returncode)
        print("0 passed, 1 failed")
        return 1
    names = sorted(d[:-len(".expected")] for d in os.listdir(captures) if d.endswith(".expected"))
    if args.case:
        unknown = sorted(set(args.case) - set(names))
        if unknown:
            print("unknown cases: %s" % unknown)
            print("0 passed, 1 failed")
            return 1
        names = [n for n in names if n in args.case]
    use_tshark = not args.no_tshark and shutil.which("tshark") is not None
    if not use_tshark and not args.no_tshark:
        print("note: tshark not found, cross-check skipped")

    tally = Tally()
    for name in names:
        try:
            run_case(args, captures, name, use_tshark, tally)
        except Exception as e:  # a broken case must not hide the others
            tally.report("%s [harness]" % name, ["%s: %s" % (type(e).__name__, e)])
    if tally.failed_names:
        print("failed: %s" % ", ".join(tally.failed_names))
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


def run_case(args, captures, name, use_tshark, tally):
    case = Case(captures, name)
    runs = {}
    for workers in (1, 2):
        run = Run(args.stethoscope, case, workers, args.workdir)
        tally.report("%s [workers=%d]" % (name, workers), run.check())
        runs[workers] = run
    if any(r.rc is None for r in runs.values()):
        tally.report("%s [workers 1 = workers 2]" % name, ["a run timed out"])
    else:
        tally.report("%s [workers 1 = workers 2]" % name,
                     diff_normalized(runs[1].normalized(), runs[2].normalized()))
    if use_tshark:
        failures, notes = check_tshark(case)
        tally.report("%s [tshark]" % name, failures, notes)


if __name__ == "__main__":
    sys.exit(main())
