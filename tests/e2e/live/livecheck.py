#!/usr/bin/env python3
"""livecheck.py — verdicts of the live-capture end-to-end tests (tests/e2e/live/).

Compares what stethoscope's `files` output wrote (OUT/<client>-<server>/requests.bin and
responses.bin, OUT/sessions.ndjson) and its events on stdout with what the endpoints
really sent and received. Prints one `PASS: ...` or `FAIL: ...` line per check; exits 1
when any check failed.

  livecheck.py streams  --label L --out OUT --stdout EVENTS --client-ip IP --server IP:PORT
                        [--curl TRACE PORTFILE]...        reference: a curl --trace
                        [--partial-curl TRACE PORTFILE BODY]...  a download cut short
                        [--session CLIENT SERVER REQ RESP]...  reference: two files
                        [--served PATH FILE]...   GET PATH must have answered FILE
                        [--sent-body PATH FILE]...   the request body sent to PATH
                        [--reasons fin,...] [--min-retrans N] [--min-concurrent N]
                        [--allow-extra] [--final-stats | --no-final-stats]
  livecheck.py upstream --label L --out OUT --stdout EVENTS --client-ip IP --server IP:PORT
                        --front-curl TRACE PORTFILE ... --served PATH FILE ...

curl --trace FILE writes every byte curl passed to send() ("=> Send header/data") and got
from recv() ("<= Recv header/data") as hex dumps, in order; concatenated they are the
connection's request and response streams exactly (a trace must hold one connection;
the local port comes from `curl -w '%{local_port}'`).
"""

import argparse
import datetime
import json
import os
import re
import sys

FAILED = 0


def say_pass(label, msg):
    print(f"PASS: {label}: {msg}")


def say_fail(label, msg):
    global FAILED
    FAILED += 1
    print(f"FAIL: {label}: {msg}")


# --- curl traces --------------------------------------------------------------------

_BLOCK = re.compile(r"^(=>|<=) (Send|Recv) (header|data|SSL data), (\d+) bytes")
_HEXLINE = re.compile(r"^([0-9a-f]+): ")


class Trace:
    def __init__(self, path):
        self.path = path
        self.requests = bytearray()
        self.responses = bytearray()
        self.connections = 0
        self.reused = 0
        # curl 7.x does not pass the empty line that ends an interim (1xx) response to
        # its trace: "HTTP/1.1 100 Continue\r\n" is followed directly by the final
        # response's status line, though "\r\n" was received in between (the wire has
        # it; the HTTP grammar requires it). The reference puts it back, and counts it.
        self.interim_fixes = 0
        interim = False
        block = bytearray()
        cur = None
        remaining = 0

        def end_block():
            nonlocal interim
            if cur is self.responses and header_block:
                data = bytes(block)
                if interim and data.startswith(b"HTTP/"):
                    self.responses.extend(b"\r\n")
                    self.interim_fixes += 1
                    interim = False
                elif interim and data == b"\r\n":
                    interim = False
                if re.match(rb"HTTP/\d(\.\d)? 1\d\d", data):
                    interim = True
            if cur is not None:
                cur.extend(block)
            block.clear()

        header_block = False
        with open(path, "r", encoding="latin-1") as f:
            for lineno, line in enumerate(f, 1):
                if remaining > 0:
                    m = _HEXLINE.match(line)
                    if not m:
                        raise ValueError(f"{path}:{lineno}: hex dump line expected")
                    n = min(16, remaining)
                    chunk = bytes.fromhex(line[m.end():m.end() + 3 * n])
                    if len(chunk) != n:
                        raise ValueError(f"{path}:{lineno}: short hex dump line")
                    block.extend(chunk)
                    remaining -= n
                    if remaining == 0:
                        end_block()
                    continue
                if line.startswith("== Info: Connected to "):
                    self.connections += 1
                elif line.startswith("== Info: Re-using existing connection"):
                    self.reused += 1
                m = _BLOCK.match(line)
                if m:
                    remaining = int(m.group(4))
                    header_block = m.group(3) == "header"
                    if m.group(3) == "SSL data":
                        cur = None
                    else:
                        cur = self.requests if m.group(2) == "Send" else self.responses
                    if remaining == 0:
                        end_block()
        if remaining:
            raise ValueError(f"{path}: trace ends inside a dump")
        self.requests = bytes(self.requests)
        self.responses = bytes(self.responses)


def read_ports(path):
    with open(path) as f:
        return [int(x) for x in f.read().split() if x.strip()]


# --- HTTP/1.x message splitting (for the sanity checks of the references) -------------

class Message:
    def __init__(self, start, headers, body, complete=True):
        self.start = start
        self.headers = headers  # lower-case name -> value (first occurrence)
        self.body = body
        self.complete = complete

    @property
    def status(self):
        parts = self.start.split(" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None

    @property
    def method(self):
        return self.start.split(" ")[0]

    @property
    def path(self):
        parts = self.start.split(" ")
        return parts[1] if len(parts) > 1 else ""


def _dechunk(data, pos):
    body = bytearray()
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return bytes(body), len(data), False
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            return bytes(body), (end + 4 if end >= 0 else len(data)), end >= 0
        body += data[pos:pos + size]
        pos += size + 2


def split_http(data, requests):
    """All messages of one direction; responses include 1xx (empty bodies)."""
    msgs = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            msgs.append(Message(data[pos:pos + 80].decode("latin-1"), {}, b"", False))
            break
        lines = data[pos:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        pos = end + 4
        msg = Message(lines[0], headers, b"")
        if not requests and msg.status is not None and 100 <= msg.status < 200:
            msgs.append(msg)
            continue
        if "chunked" in headers.get("transfer-encoding", "").lower():
            msg.body, pos, msg.complete = _dechunk(data, pos)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            msg.body = data[pos:pos + n]
            msg.complete = len(msg.body) == n
            pos += n
        elif not requests and msg.status not in (204, 304):
            msg.body = data[pos:]
            pos = len(data)
        msgs.append(msg)
    return msgs


def final_responses(msgs):
    return [m for m in msgs if m.status is None or not 100 <= m.status < 200]


# --- stethoscope's outputs -------------------------------------------------------------

_FOLDER = re.compile(r"^(.+)_(\d+)-(.+)_(\d+)(~\d+)?$")


def folder_name(client, server):
    cip, cport = client.rsplit(":", 1)
    sip, sport = server.rsplit(":", 1)
    return f"{cip}_{cport}-{sip}_{sport}"


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def read_events(path):
    events, bad = [], 0
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    return events, bad


def parse_ts(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def first_difference(got, want):
    n = min(len(got), len(want))
    step = 65536
    for off in range(0, n, step):
        if got[off:off + step] != want[off:off + step]:
            for i in range(off, min(off + step, n)):
                if got[i] != want[i]:
                    return i
    return n


def diff_text(got, want):
    if got is None:
        return f"file missing, want {len(want)} bytes"
    return f"{len(got)} bytes, want {len(want)}; first difference at offset " \
           f"{first_difference(got, want)}"


class Outputs:
    def __init__(self, out, stdout):
        self.out = out
        self.folders = sorted(d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))) \
            if os.path.isdir(out) else []
        path = os.path.join(out, "sessions.ndjson")
        self.closed, self.closed_bad = read_events(path) if os.path.exists(path) else ([], 0)
        self.events, self.events_bad = read_events(stdout) if os.path.exists(stdout) else ([], 0)

    def stream(self, folder, name):
        return read_file(os.path.join(self.out, folder, name))

    def closed_for(self, client, server):
        return [e for e in self.closed if e.get("client") == client and e.get("server") == server]


def check_final_stats(label, outs, want_sessions=None):
    if outs.events_bad:
        say_fail(label, f"{outs.events_bad} stdout lines are not JSON")
    stats = [e for e in outs.events if e.get("event") == "capture_stats"]
    finals = [e for e in stats if e.get("final") is True]
    if len(finals) != 1:
        say_fail(label, f"{len(finals)} final capture_stats events on stdout (want 1)")
        return
    fin = finals[0]
    problems = []
    if stats[-1] is not fin:
        problems.append("the final capture_stats is not the last one")
    if outs.events[-1] is not fin:
        problems.append(f"the last event on stdout is {outs.events[-1].get('event')}")
    for key in ("dropped_kernel", "dropped_interface", "dropped_queue_full"):
        if key not in fin:
            problems.append(f"no {key}")
        elif fin[key] != 0:
            problems.append(f"{key} = {fin[key]}")
    if not fin.get("received"):
        problems.append("received = 0")
    if want_sessions is not None and fin.get("sessions_opened") != want_sessions:
        problems.append(f"sessions_opened = {fin.get('sessions_opened')}, want {want_sessions}")
    if fin.get("gap_bytes", 0) != 0:
        problems.append(f"gap_bytes = {fin.get('gap_bytes')}")
    summary = (f"received {fin.get('received')}, packets {fin.get('packets')}, "
               f"dropped_kernel {fin.get('dropped_kernel')}, "
               f"dropped_queue_full {fin.get('dropped_queue_full')}, "
               f"sessions {fin.get('sessions_opened')}, workers {fin.get('workers')}")
    if problems:
        say_fail(label, "final capture_stats: " + "; ".join(problems) + f" ({summary})")
    else:
        say_pass(label, "final capture_stats last on stdout, no drops: " + summary)
    # The stdout session_closed events and sessions.ndjson hold the same sessions.
    on_stdout = sorted(e.get("uid") for e in outs.events if e.get("event") == "session_closed")
    in_file = sorted(e.get("uid") for e in outs.closed)
    if on_stdout != in_file:
        say_fail(label, f"session_closed uids on stdout {on_stdout} != sessions.ndjson {in_file}")
    elif outs.closed_bad:
        say_fail(label, f"{outs.closed_bad} lines of sessions.ndjson are not JSON")
    else:
        say_pass(label, f"sessions.ndjson holds the {len(in_file)} session_closed events of stdout")


def check_closed(label, outs, client, server, req_len, resp_len, reasons, problems):
    """Appends problems with the session's session_closed line; returns it (or None)."""
    lines = outs.closed_for(client, server)
    if len(lines) != 1:
        problems.append(f"{len(lines)} session_closed lines in sessions.ndjson (want 1)")
        return None
    e = lines[0]
    if reasons and e.get("reason") not in reasons:
        problems.append(f"closed with reason {e.get('reason')} (want {'/'.join(reasons)})")
    for d, n in (("requests", req_len), ("responses", resp_len)):
        s = e.get(d, {})
        if n is not None and s.get("bytes") != n:
            problems.append(f"{d}.bytes = {s.get('bytes')}, want {n}")
        if s.get("gaps") != 0 or s.get("gap_bytes") != 0:
            problems.append(f"{d}: gaps {s.get('gaps')}, gap_bytes {s.get('gap_bytes')}")
        f = e.get("outputs", {}).get("files", {}).get(d, {})
        if f.get("dropped") != 0 or (n is not None and f.get("delivered") != n):
            problems.append(f"files output {d}: delivered {f.get('delivered')}, "
                            f"dropped {f.get('dropped')}")
    # Nothing is corrupted on a veth; the captured packets carry partial checksums
    # (transmit checksum offload on) or, where the kernel finished one in software, full
    # ones. A bad_checksum here is an offloaded packet taken for corruption.
    bad = e.get("analysis", {}).get("bad_checksum")
    if bad != 0:
        problems.append(f"analysis.bad_checksum = {bad}, want 0 (no corruption on a veth)")
    return e


def analysis_of(e):
    return e.get("analysis", {}) if e else {}


# --- streams ---------------------------------------------------------------------------

def check_reference(label, name, trace, served, sent_bodies, ports, partial_body=None):
    """Sanity of a curl reference: the HTTP messages in it match the files involved."""
    problems = []
    if trace.connections != 1:
        problems.append(f"trace holds {trace.connections} connections (want 1)")
    if len(set(ports)) != 1:
        problems.append(f"curl used local ports {ports} (want one connection)")
    reqs = split_http(trace.requests, True)
    resps = final_responses(split_http(trace.responses, False))
    if partial_body is None and len(reqs) != len(resps):
        problems.append(f"{len(reqs)} requests but {len(resps)} final responses")
    if len(reqs) != len(ports):
        problems.append(f"{len(reqs)} requests in the trace, curl reported {len(ports)} transfers")
    checked = []
    if trace.interim_fixes:
        checked.append(f"{trace.interim_fixes} 1xx end line(s) restored")
    for req, resp in zip(reqs, resps):
        path = req.path
        if req.method == "GET" and path in served:
            want = read_file(served[path])
            if partial_body is not None:
                if not want.startswith(resp.body):
                    problems.append(f"GET {path}: the received part is not a prefix of the file")
            elif resp.status != 200 or resp.body != want:
                problems.append(f"GET {path}: status {resp.status}, body {len(resp.body)} bytes "
                                f"!= served file ({len(want)} bytes)")
            checked.append(path)
        if path in sent_bodies:
            want = read_file(sent_bodies[path])
            if req.body != want:
                problems.append(f"{req.method} {path}: body {len(req.body)} bytes != {len(want)}")
            checked.append(f"{req.method} {path} body")
    for p in problems:
        say_fail(label, f"reference {name}: {p}")
    if not problems:
        say_pass(label, f"reference {name}: {len(reqs)} requests, {len(resps)} responses; "
                        f"matches the files ({', '.join(checked) or 'none checked'})")
    return reqs, resps


def cmd_streams(a):
    label = a.label
    outs = Outputs(a.out, a.stdout)
    served = dict(a.served or [])
    sent_bodies = dict(a.sent_body or [])
    reasons = [r for r in a.reasons.split(",") if r] if a.reasons else []
    expected = {}  # folder -> (name, client, server, req bytes, resp bytes, mode)
    for trace_path, port_path in a.curl or []:
        name = os.path.basename(trace_path).rsplit(".", 1)[0]
        trace = Trace(trace_path)
        ports = read_ports(port_path)
        check_reference(label, name, trace, served, sent_bodies, ports)
        if not ports:
            say_fail(label, f"{name}: curl reported no local port")
            continue
        client = f"{a.client_ip}:{ports[0]}"
        expected[folder_name(client, a.server)] = (name, client, a.server, trace.requests,
                                                   trace.responses, "exact")
    for trace_path, port_path, body_path in a.partial_curl or []:
        name = os.path.basename(trace_path).rsplit(".", 1)[0]
        trace = Trace(trace_path)
        ports = read_ports(port_path) or [0]
        # The whole response the server would have sent: the header as curl got it,
        # then the file.
        head_end = trace.responses.find(b"\r\n\r\n")
        full = trace.responses[:head_end + 4] + read_file(body_path) if head_end >= 0 else b""
        client = f"{a.client_ip}:{ports[0]}"
        expected[folder_name(client, a.server)] = (name, client, a.server, trace.requests,
                                                   (trace.responses, full), "partial")
    for client, server, req_path, resp_path in a.session or []:
        name = f"{client}->{server}"
        expected[folder_name(client, server)] = (name, client, server, read_file(req_path),
                                                 read_file(resp_path), "exact")

    extra = [f for f in outs.folders if f not in expected]
    missing = [f for f in expected if f not in outs.folders]
    if missing or (extra and not a.allow_extra):
        say_fail(label, f"session folders: missing {missing}, unexpected {extra}")
    else:
        say_pass(label, f"{len(expected)} session folders, as expected")

    retrans = 0
    totals = {}
    for folder, (name, client, server, want_req, want_resp, mode) in sorted(
            expected.items(), key=lambda kv: kv[1][0]):
        if folder not in outs.folders:
            continue
        problems = []
        got_req = outs.stream(folder, "requests.bin")
        got_resp = outs.stream(folder, "responses.bin")
        if (got_req or b"") != want_req or (got_req is None and want_req):
            problems.append("requests.bin: " + diff_text(got_req, want_req))
        if mode == "exact":
            if (got_resp or b"") != want_resp or (got_resp is None and want_resp):
                problems.append("responses.bin: " + diff_text(got_resp, want_resp))
            resp_len = len(want_resp)
        else:
            curl_got, full = want_resp
            g = got_resp or b""
            if not full.startswith(curl_got):
                problems.append("reference: what curl received is not a prefix of header+file")
            if len(g) < len(curl_got):
                problems.append(f"responses.bin: {len(g)} bytes, fewer than the "
                                f"{len(curl_got)} curl received")
            if not full.startswith(g):
                problems.append("responses.bin is not a prefix of the response: "
                                + diff_text(g, full[:len(g)]))
            resp_len = len(g)
        e = check_closed(label, outs, client, server, len(want_req), resp_len,
                         reasons if mode == "exact" else [], problems)
        an = analysis_of(e)
        retrans += an.get("retransmission", 0)
        for k, v in an.items():
            totals[k] = totals.get(k, 0) + v
        if problems:
            for p in problems:
                say_fail(label, f"{name} ({folder}): {p}")
        else:
            what = "byte-exact" if mode == "exact" else "a prefix of the response, covering all curl got"
            say_pass(label, f"{name} ({folder}): requests {len(want_req)} B byte-exact, responses "
                            f"{resp_len} B {what}; closed by {e.get('reason')}, no gaps")
    busy = {k: v for k, v in totals.items() if v}
    print(f"info: {label}: analysis summed over sessions: {busy or 'all zero'}")

    if a.min_retrans is not None:
        if retrans >= a.min_retrans:
            say_pass(label, f"analysis.retransmission summed over sessions = {retrans} "
                            f"(>= {a.min_retrans})")
        else:
            say_fail(label, f"analysis.retransmission summed over sessions = {retrans} "
                            f"(want >= {a.min_retrans})")
    if a.min_concurrent is not None:
        spans = []
        for e in outs.closed:
            end = parse_ts(e["ts"])
            spans.append((end - float(e.get("duration_sec", 0)), end))
        best = 0
        for s, _ in spans:
            best = max(best, sum(1 for s2, e2 in spans if s2 <= s <= e2))
        if best >= a.min_concurrent:
            say_pass(label, f"{best} sessions were open at the same time (>= {a.min_concurrent})")
        else:
            say_fail(label, f"at most {best} sessions open at once (want >= {a.min_concurrent})")
    if a.final_stats:
        check_final_stats(label, outs, len(expected) if not a.allow_extra else None)
    return 1 if FAILED else 0


# --- upstream of a reverse proxy -----------------------------------------------------------

def cmd_upstream(a):
    """The proxy's own requests to the upstream server: no byte reference exists for them
    (nginx writes them; nobody records them but the wire), so each captured request must
    be the one nginx derives from a front request (method, path, curl's User-Agent passed
    through), and each captured response must carry exactly the served file as its body,
    with the entity headers the front side received (Content-Length, ETag, Last-Modified)."""
    label = a.label
    outs = Outputs(a.out, a.stdout)
    served = dict(a.served)
    front = {}  # path -> list of (request, response) seen on the front side
    for trace_path, _port_path in a.front_curl:
        t = Trace(trace_path)
        reqs = split_http(t.requests, True)
        resps = final_responses(split_http(t.responses, False))
        for req, resp in zip(reqs, resps):
            front.setdefault(req.path, []).append((req, resp))
    seen = {}
    for folder in outs.folders:
        m = _FOLDER.match(folder)
        client = f"{m.group(1)}:{m.group(2)}" if m else folder
        server = f"{m.group(3)}:{m.group(4)}" if m else ""
        problems = []
        if not m or m.group(1) != a.client_ip or server != a.server:
            problems.append(f"unexpected session {folder}")
        req_bytes = outs.stream(folder, "requests.bin") or b""
        resp_bytes = outs.stream(folder, "responses.bin") or b""
        reqs = split_http(req_bytes, True)
        resps = final_responses(split_http(resp_bytes, False))
        if not reqs or len(reqs) != len(resps):
            problems.append(f"{len(reqs)} requests, {len(resps)} responses")
        for req, resp in zip(reqs, resps):
            path = req.path
            seen[path] = seen.get(path, 0) + 1
            if req.method != "GET" or path not in served:
                problems.append(f"request {req.start!r}: not a GET of a served path")
                continue
            if not req.complete or not req.start.startswith(f"GET {path} HTTP/1."):
                problems.append(f"request line {req.start!r}")
            if "host" not in req.headers:
                problems.append(f"GET {path}: no Host header")
            fronts = front.get(path, [])
            uas = {f[0].headers.get("user-agent") for f in fronts}
            if req.headers.get("user-agent") not in uas:
                problems.append(f"GET {path}: User-Agent {req.headers.get('user-agent')!r} is "
                                f"not the front request's {uas}")
            want = read_file(served[path])
            if resp.status != 200 or not resp.complete or resp.body != want:
                problems.append(f"GET {path}: response {resp.start!r}, body {len(resp.body)} B "
                                f"!= served file ({len(want)} B)"
                                + (f", first difference at {first_difference(resp.body, want)}"
                                   if resp.body != want else ""))
            for h in ("content-length", "etag", "last-modified"):
                fv = {f[1].headers.get(h) for f in fronts}
                if resp.headers.get(h) is None or resp.headers.get(h) not in fv:
                    problems.append(f"GET {path}: upstream {h} {resp.headers.get(h)!r}, "
                                    f"front side got {fv}")
        e = check_closed(label, outs, client, server, len(req_bytes), len(resp_bytes),
                         ["fin"], problems)
        if problems:
            for p in problems:
                say_fail(label, f"{folder}: {p}")
        else:
            say_pass(label, f"{folder}: " + ", ".join(f"{r.method} {r.path} {r.start.split()[-1]}"
                                                     for r in reqs)
                     + f" -> 200 with the served file ({len(resp_bytes)} B stream), "
                       f"closed by {e.get('reason')}, no gaps")
    want_counts = {p: len(v) for p, v in front.items() if p in served}
    if seen != want_counts:
        say_fail(label, f"upstream requests per path {seen}, front requests {want_counts}")
    else:
        say_pass(label, f"one upstream request per front request: {seen}")
    check_final_stats(label, outs, len(outs.folders))
    return 1 if FAILED else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("streams")
    u = sub.add_parser("upstream")
    for q in (s, u):
        q.add_argument("--label", required=True)
        q.add_argument("--out", required=True)
        q.add_argument("--stdout", required=True)
        q.add_argument("--client-ip", required=True)
        q.add_argument("--server", required=True)
        q.add_argument("--served", nargs=2, action="append", metavar=("PATH", "FILE"))
    s.add_argument("--curl", nargs=2, action="append", metavar=("TRACE", "PORTFILE"))
    s.add_argument("--partial-curl", nargs=3, action="append",
                   metavar=("TRACE", "PORTFILE", "BODY"))
    s.add_argument("--session", nargs=4, action="append",
                   metavar=("CLIENT", "SERVER", "REQ", "RESP"))
    s.add_argument("--sent-body", nargs=2, action="append", metavar=("PATH", "FILE"))
    s.add_argument("--reasons", default="fin")
    s.add_argument("--min-retrans", type=int)
    s.add_argument("--min-concurrent", type=int)
    s.add_argument("--allow-extra", action="store_true")
    s.add_argument("--no-final-stats", dest="final_stats", action="store_false")
    u.add_argument("--front-curl", nargs=2, action="append", required=True,
                   metavar=("TRACE", "PORTFILE"))
    a = p.parse_args()
    return cmd_streams(a) if a.cmd == "streams" else cmd_upstream(a)


if __name__ == "__main__":
    sys.exit(main())
