#!/usr/bin/env python3
"""rtt_tshark.py — compares the rtt-bdp analyzer's ACK RTT samples with tshark's.

    rtt_tshark.py --tshark TSHARK --events EVENTS --samples SAMPLES_LOG CAPTURE

EVENTS is stethoscope's stdout (NDJSON) for CAPTURE, SAMPLES_LOG the file its rtt-bdp
analyzer wrote with "samples_log" (lines "sample|karn|full UID DIR TS_NS VALUE").

Checks (each prints PASS/FAIL; the last line is "N passed, N failed"):
  * every sample of ours is one of tshark's tcp.analysis.ack_rtt values, on the same ACK
    packet (capture time) and equal to the nanosecond (a multiset match);
  * every tshark sample not among ours is explained: Karn's rule excluded it (a "karn"
    line on the same ACK packet) or the ring had no room for the segment it times (a
    "full" line with that segment's time and end sequence number = the ACK number);
    nothing else is allowed. Our zero-microsecond samples are not required in tshark's
    (tshark does not display a zero RTT);
  * the counts in session_closed (sum of rtt.<side>.ack.count and karn_excluded) equal
    the log's sample and karn lines;
  * the multiset of initial_rtt values (one per TCP stream that has one) equals ours.
The module's `compare()` is also used by rtt_e2e.py.
"""
import argparse
import collections
import decimal
import json
import subprocess
import sys


def ns(text):
    return int(decimal.Decimal(text) * 1_000_000_000)


def tshark_samples(tshark, capture):
    """[(ack_ts_ns, rtt_ns, ack_raw)], {stream: initial_rtt_ns}."""
    out = subprocess.run(
        [tshark, "-n", "-r", capture, "-Y", "tcp", "-T", "fields", "-E", "separator=|",
         "-e", "frame.time_epoch", "-e", "tcp.analysis.ack_rtt", "-e", "tcp.ack_raw",
         "-e", "tcp.stream", "-e", "tcp.analysis.initial_rtt"],
        capture_output=True, text=True, check=True).stdout
    samples, initial = [], {}
    for line in out.splitlines():
        f = line.split("|")
        if len(f) < 5:
            continue
        if f[1]:
            samples.append((ns(f[0]), ns(f[1]), int(f[2]) if f[2] else None))
        if f[4] and f[3] not in initial:
            initial[f[3]] = ns(f[4])
    return samples, initial


def read_log(path):
    lines = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            kind, uid, direction, ts, value = line.split()
            lines[kind].append((int(ts), int(value), direction, int(uid)))
    return lines


def ours_from_events(events_path):
    closed = []
    with open(events_path) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event") == "session_closed":
                closed.append(e)
    return closed


def compare(tshark, capture, events_path, log_path, report):
    """Runs every check; `report(ok, message)` gets each result."""
    theirs, initial = tshark_samples(tshark, capture)
    log = read_log(log_path)
    closed = ours_from_events(events_path)

    pool = collections.Counter((t, r) for t, r, _ in theirs)
    missing, zero = [], 0
    for ts, rtt, _, _ in log["sample"]:
        if pool[(ts, rtt)] > 0:
            pool[(ts, rtt)] -= 1
        elif rtt == 0:
            zero += 1
        else:
            missing.append((ts, rtt))
    report(not missing, "%d of our ACK RTT samples equal tshark's, %d of 0 us that tshark does "
           "not display (%d not in tshark's: %s)"
           % (len(log["sample"]) - zero, zero, len(missing), missing[:5]))

    karn_at = collections.Counter(ts for ts, _, _, _ in log["karn"])
    full_at = collections.Counter((ts, value & 0xFFFFFFFF) for ts, value, _, _ in log["full"])
    left = []
    by_karn = by_full = 0
    ack_of = collections.defaultdict(list)
    for t, r, ack in theirs:
        ack_of[(t, r)].append(ack)
    for (t, r), n in pool.items():
        # Which of several equal (ACK time, RTT) samples is not ours is unknown: any of
        # their ACK numbers may name the segment the ring had no room for.
        candidates = list(ack_of[(t, r)])
        for _ in range(n):
            if karn_at[t] > 0:
                karn_at[t] -= 1
                by_karn += 1
                continue
            hit = next((a for a in candidates if a is not None and full_at[(t - r, a)] > 0), None)
            if hit is None:
                left.append((t, r))
                continue
            candidates.remove(hit)
            full_at[(t - r, hit)] -= 1
            by_full += 1
    report(not left, "tshark's %d samples: %d ours, %d excluded by Karn's rule, %d not "
           "recorded (ring full), %d unexplained %s"
           % (len(theirs), len(theirs) - sum(pool.values()), by_karn, by_full, len(left),
              left[:5]))

    count = sum(e["rtt"][side]["ack"]["count"] for e in closed for side in ("server", "client"))
    karn = sum(e["rtt"][side]["ack"]["karn_excluded"] for e in closed
               for side in ("server", "client"))
    report(count == len(log["sample"]) and karn == len(log["karn"]),
           "session_closed counts %d samples, %d Karn-excluded; the log has %d and %d"
           % (count, karn, len(log["sample"]), len(log["karn"])))

    ours_initial = collections.Counter(
        e["rtt"]["handshake"]["initial_rtt_us"] * 1000 for e in closed
        if e["rtt"]["handshake"]["initial_rtt_us"] is not None)
    theirs_initial = collections.Counter(initial.values())
    report(ours_initial == theirs_initial,
           "initial_rtt of %d streams equal tshark's (ours %s, tshark %s)"
           % (sum(theirs_initial.values()), sorted(ours_initial.elements())[:5],
              sorted(theirs_initial.elements())[:5]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("--events", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("capture")
    a = ap.parse_args()
    results = []

    def report(ok, message):
        results.append(ok)
        print(("PASS: " if ok else "FAIL: ") + message)

    compare(a.tshark, a.capture, a.events, a.samples, report)
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
