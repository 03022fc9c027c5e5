#!/usr/bin/env python3
"""control_e2e.py — the control plane (plugin control/http) of the real binary.

    control_e2e.py STETHOSCOPE_BIN SOURCE_DIR WORKDIR [PROMTOOL]

config/sample-http.pcap (3 curl<->nginx sessions) is fed through a FIFO with each session
moved to its own second, so the test decides when sessions open and close (a packet one
second later moves the engine's clock past fin_grace_sec):
  A (client port 55734) complete; B (55736) without its FINs, so it stays live while the
  snapshots are checked; files output switched off; then B's FINs and C (55740) complete.
Checked, field by field against the capture:
  /healthz, /sessions, /sessions/{uid}, /stats, /config, /metrics (promtool check
  metrics), errors (404, 405 with Allow, 400), every raw-session command, the refused
  second raw session, POST /modules/files/disable and (when installed) the raw session's
  disable of the mss analyzer (B, opened before, keeps both; C has neither, and no
  folder), and the events: the /events NDJSON stream carries
  exactly the lines of stdout in order, chunk by chunk, ending with the last chunk; the
  SSE stream ?types=session_opened,session_closed frames exactly those events; the raw
  session's event lines equal the subscribed types' lines of stdout; an HTTP/1.0 client
  gets them unchunked until the close.
An idle watcher: with no /events client and no stdout no event is built at all, and a
client that comes later gets the events from then on, events_published counting them.
Then the limits run: 400, 414, 431, 413, a slowloris client (1 byte/s) cut with 408 after
request_timeout_sec, an idle keep-alive closed, max_connections (503), a client pipelining
requests without reading the answers closed, counters of each,
and the tool still answering; the default control plane on a taken port (one warning
line, the capture runs on); listening on [::1]; a token on loopback (401/200, masked in
/config); and the config error off loopback without a token.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl_lib import (FIN, RST, EventStream, LineSocket, RawSession, Sth, check, finish,  # noqa: E402
                     get_json, raw_exchange, read_pcap, request, tcp_info, wait_for)

BIN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
PROMTOOL = sys.argv[4] if len(sys.argv) > 4 else ""
os.makedirs(WORK, exist_ok=True)
PCAP = os.path.join(SRC, "config", "sample-http.pcap")
SERVER = "127.0.0.1:18080"
# Per session (client port): request and response stream bytes, from the capture below.
PORTS = (55734, 55736, 55740)


def session_records():
    """{port: [records]} with each session moved to second 100 + 10*i, order kept."""
    hdr, recs = read_pcap(PCAP)
    by_port = {p: [] for p in PORTS}
    for r in recs:
        sport, dport, _, _ = tcp_info(r)
        by_port[sport if sport in by_port else dport].append(r)
    for i, p in enumerate(PORTS):
        t0 = struct.unpack_from("<II", by_port[p][0])
        base = t0[0] + t0[1] / 1e6
        moved = []
        for r in by_port[p]:
            sec, usec = struct.unpack_from("<II", r)
            t = 1_700_000_100 + 10 * i + (sec + usec / 1e6 - base)
            moved.append(struct.pack("<II", int(t), int(round((t % 1) * 1e6)) % 1_000_000) + r[8:])
        by_port[p] = moved
    return hdr, by_port


def clock(sec):
    """A UDP frame at `sec`: moves every worker's clock (closes sessions past their FINs)."""
    frame = (b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" +
             bytes.fromhex("4500001c00004000401100000a0000010a000002") +
             bytes.fromhex("0035003500080000"))
    return struct.pack("<IIII", sec, 0, len(frame), len(frame)) + frame


def stream_bytes(records, port):
    req = sum(tcp_info(r)[3] for r in records if tcp_info(r)[0] == port)
    resp = sum(tcp_info(r)[3] for r in records if tcp_info(r)[1] == port)
    return req, resp


def closed_events(sth):
    return {e["session"]: e for e in sth.events() if e["event"] == "session_closed"}


def main_run():
    hdr, recs = session_records()
    files_dir = os.path.join(WORK, "streams")
    cfg = {"capture": {"input": "pcap-file", "mode": "filter", "stats_interval_sec": 0},
           "log": {"events_stdout": True},
           "io": {"output": {"files": {"enabled": True, "dir": files_dir}}},
           "control": {"listen": "127.0.0.1:0", "request_timeout_sec": 5}}
    sth = Sth(BIN, WORK, "main", cfg, fifo=True)
    port = sth.wait_port()
    check(True, "control plane listening on 127.0.0.1:%d (port 0 asked)" % port)
    st, body = get_json(port, "/healthz")
    check(st == 200 and body == {"status": "capturing"}, "/healthz before any packet: %s %s" % (st, body))

    # Subscribers first, so they see every event.
    ev_all = EventStream(port)
    ev_closed = EventStream(port, "?types=session_closed")
    ev_sse = EventStream(port, "?types=session_opened,session_closed", sse=True)
    old_client = LineSocket(port)  # HTTP/1.0: no chunked encoding, the stream ends at close
    old_client.send(b"GET /events?types=session_closed HTTP/1.0\r\n\r\n")
    raw = RawSession(port)
    raw.command({"cmd": "subscribe", "types": ["session_opened", "session_closed"]})
    check(raw.answer() == '{"ok":true,"cmd":"subscribe","types":["session_opened","session_closed"]}',
          "raw session: subscribe answered")
    check(ev_all.head.startswith("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n") and
          "Transfer-Encoding: chunked\r\n" in ev_all.head, "/events head: NDJSON, chunked")
    check(ev_sse.head.startswith("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"),
          "/events with Accept: text/event-stream: SSE head")

    sth.open_fifo()
    sth.feed(hdr + b"".join(recs[55734]) + clock(1_700_000_105))
    check(wait_for(lambda: 55734 in closed_events(sth), 10), "session A closed after its FINs")
    first_fin = next(i for i, r in enumerate(recs[55736]) if tcp_info(r)[2] & (FIN | RST))
    b_open, b_rest = recs[55736][:first_fin], recs[55736][first_fin:]
    sth.feed(b"".join(b_open))
    fed = len(recs[55734]) + 1 + len(b_open)
    check_snapshots(port, recs, b_open, fed, files_dir)
    check_raw(port, raw, fed)
    check_errors(port)

    # Module switch: files off for sessions opening from now on.
    st, _, body = request(port, "POST", "/modules/files/disable")
    check(st == 200 and body == '{"ok":true,"module":"files","enabled":false}',
          "POST /modules/files/disable: %s %s" % (st, body))
    _, cfg_now = get_json(port, "/config")
    files_mod = [m for m in cfg_now["modules"] if m["name"] == "files"]
    check(files_mod and files_mod[0]["enabled"] is False, "/config modules: files enabled false")
    st, hdrs, body = request(port, "GET", "/modules/files/enable")
    check(st == 405 and hdrs.get("allow") == "POST" and json.loads(body)["error"],
          "GET /modules/files/enable: 405, Allow: POST")
    mss = "mss" in [m["name"] for m in cfg_now["modules"]]
    if mss:  # an analyzer too, through the raw session
        raw.command({"cmd": "disable", "module": "mss"})
        check(raw.answer() == '{"ok":true,"cmd":"disable","module":"mss","enabled":false}',
              "raw disable mss")
    else:
        print("info: analyzer mss not installed: its switch is not checked")
    st, _, body = request(port, "POST", "/modules/nope/enable")
    check(st == 404 and "error" in json.loads(body), "POST /modules/nope/enable: 404 %s" % body)
    sth.feed(b"".join(b_rest) + b"".join(recs[55740]) + clock(1_700_000_125))
    check(wait_for(lambda: len(closed_events(sth)) == 3, 10), "sessions B and C closed")
    closed = closed_events(sth)
    check("files" in closed[55736].get("outputs", {}),
          "B (opened before the switch) kept the files output")
    check("files" not in closed[55740].get("outputs", {}),
          "C (opened after files was disabled) has no files output: %s" % closed[55740].get("outputs"))
    if mss:
        check("mss" in closed[55736] and "mss" not in closed[55740],
              "mss disabled: B (opened before) has its mss results, C has none")
    folders = sorted(d for d in os.listdir(files_dir) if os.path.isdir(os.path.join(files_dir, d)))
    check(folders == ["127.0.0.1_55734-127.0.0.1_18080", "127.0.0.1_55736-127.0.0.1_18080"],
          "files output wrote A and B, not C: %s" % folders)
    raw.command({"cmd": "enable", "module": "files"})
    check(raw.answer() == '{"ok":true,"cmd":"enable","module":"files","enabled":true}',
          "raw enable files")

    sth.close_fifo()
    rc = sth.wait(30)
    check(rc == 0, "exit code 0 at the end of the FIFO (%s)" % rc)
    check_events(sth, ev_all, ev_closed, ev_sse, raw)
    rest = b""
    while (d := old_client.sock.recv(65536)):
        rest += d
    want = "".join(l for l in open(sth.stdout_path) if '"event":"session_closed"' in l).encode()
    head, _, body = (old_client.buf + rest).partition(b"\r\n\r\n")
    check(b"Transfer-Encoding" not in head and b"Connection: close" in head and body == want,
          "HTTP/1.0 /events: not chunked, the 3 session_closed lines, then closed")
    for port_, (req, resp) in ((p, stream_bytes(recs[p], p)) for p in PORTS):
        e = closed[port_]
        check(e["requests"]["bytes"] == req and e["responses"]["bytes"] == resp,
              "session %d: %d/%d bytes as in the capture" % (port_, req, resp))


def idle_watcher():
    """Nobody follows /events and events_stdout is off: the workers build no event at all
    (events_published stays 0 while session A opens and closes, analyzers on as by
    default); a client that then follows /events gets session B's events, and
    events_published counts exactly the events it got."""
    hdr, recs = session_records()
    cfg = {"capture": {"input": "pcap-file", "mode": "filter", "stats_interval_sec": 0},
           "log": {"events_stdout": False},
           "control": {"listen": "127.0.0.1:0"}}
    sth = Sth(BIN, WORK, "idle", cfg, fifo=True)
    port = sth.wait_port()
    sth.open_fifo()
    sth.feed(hdr + b"".join(recs[55734]) + clock(1_700_000_105))
    check(wait_for(lambda: get_json(port, "/stats")[1]["sessions_closed"] == 1, 10),
          "idle watcher: session A closed")
    _, stats = get_json(port, "/stats")
    check(stats["events_published"] == 0 and stats["sessions_opened"] == 1,
          "no /events client, no stdout: %d events built for session A (want 0)" %
          stats["events_published"])
    ev = EventStream(port)
    sth.feed(b"".join(recs[55736]) + clock(1_700_000_125))
    lines = []
    while not any('"event":"session_closed"' in l for l in lines):
        lines += [l for l in ev.chunk().decode().split("\n") if l]
    events = [json.loads(l) for l in lines]
    kinds = [(e["event"], e.get("session")) for e in events if e["event"].startswith("session_")]
    check(kinds == [("session_opened", 55736), ("session_closed", 55736)],
          "the /events client got B's session_opened then session_closed: %s" % kinds)
    check(all(e.get("session", 55736) == 55736 for e in events),
          "every session's event it got is about B: %s" %
          sorted({(e["event"], e.get("session")) for e in events}))
    _, stats = get_json(port, "/stats")
    check(stats["events_published"] == len(events),
          "events_published %d == the %d events the client got" %
          (stats["events_published"], len(events)))
    ev.close()
    sth.close_fifo()
    check(sth.wait(30) == 0, "idle watcher run: exit 0")


def check_snapshots(port, recs, b_open, fed, files_dir):
    req, resp = stream_bytes(b_open, 55736)
    want = {"client": "127.0.0.1:55736", "server": SERVER}

    def live_b():
        st, body = get_json(port, "/sessions")
        if st == 200 and len(body) == 1 and body[0]["requests"]["bytes"] == req and \
                body[0]["responses"]["bytes"] == resp:
            return body
        return None
    sessions = wait_for(live_b, 10, 0.1)
    check(bool(sessions), "/sessions: one live session, B, with %d/%d bytes: %s" %
          (req, resp, sessions or get_json(port, "/sessions")))
    if not sessions:
        return
    s = sessions[0]
    check(all(s.get(k) == v for k, v in want.items()) and s["session"] == 55736,
          "/sessions: client, server, session of B")
    req_pk = sum(1 for r in b_open if tcp_info(r)[0] == 55736)
    resp_pk = sum(1 for r in b_open if tcp_info(r)[1] == 55736)
    check(s["requests"]["packets"] == req_pk and s["responses"]["packets"] == resp_pk,
          "/sessions: packets per direction %d/%d (got %s/%s)" %
          (req_pk, resp_pk, s["requests"]["packets"], s["responses"]["packets"]))
    check(isinstance(s.get("state"), str) and s["state"] and isinstance(s.get("age_sec"), (int, float)),
          "/sessions: state %r, age_sec %r" % (s.get("state"), s.get("age_sec")))
    check("files" in s.get("outputs", {}), "/sessions: B is held by the files output")
    st, one = get_json(port, "/sessions/%d" % s["uid"])
    check(st == 200 and one["uid"] == s["uid"] and one["requests"] == s["requests"],
          "/sessions/%d: the same session" % s["uid"])
    st, _, body = request(port, "GET", "/sessions/999999")
    check(st == 404 and body == '{"error":"no live session with uid 999999"}', "/sessions/999999: %s %s" % (st, body))
    st, _, body = request(port, "GET", "/sessions/abc")
    check(st == 400 and body == '{"error":"session uid must be a positive integer, got \\"abc\\""}',
          "/sessions/abc: %s %s" % (st, body))

    st, stats = get_json(port, "/stats")
    check(st == 200 and stats["packets"] == fed and stats["sessions_opened"] == 2 and
          stats["sessions_closed"] == 1 and stats.get("sessions_open") == 1,
          "/stats: packets %s (fed %d), opened %s, closed %s, open %s" %
          (stats["packets"], fed, stats["sessions_opened"], stats["sessions_closed"], stats.get("sessions_open")))
    check(stats["counters"].get("http.events_clients_dropped") == 0, "/stats: no /events client dropped")
    st, cfg = get_json(port, "/config")
    check(st == 200 and cfg["config"]["control"]["listen"] == "127.0.0.1:0" and
          cfg["config"]["io"]["output"]["files"]["dir"] == files_dir,
          "/config: effective config with control.listen and files.dir")
    names = {m["name"]: m for m in cfg["modules"]}
    check({"http", "files"} <= set(names) and names["files"]["enabled"] is True,
          "/config: modules %s" % sorted(names))
    st, hdrs, text = request(port, "GET", "/metrics")
    check(st == 200 and hdrs["content-type"] == "text/plain; version=0.0.4; charset=utf-8",
          "/metrics: Prometheus text 0.0.4")
    lines = set(text.splitlines())
    check("stethoscope_packets_total %d" % fed in lines and "stethoscope_sessions_opened_total 2" in lines
          and "stethoscope_sessions_open 1" in lines and "stethoscope_capturing 1" in lines,
          "/metrics: packets, sessions opened, open, capturing")
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
        check(p.returncode == 0, "promtool check metrics: exit %d %s" % (p.returncode, p.stderr.strip()))


def check_raw(port, raw, fed):
    def ask(cmd):
        raw.command(cmd)
        return raw.answer()
    check(ask({"cmd": "health"}) == '{"ok":true,"cmd":"health","status":"capturing"}', "raw health")
    a = json.loads(ask({"cmd": "stats"}))
    check(a["ok"] and a["cmd"] == "stats" and a["stats"]["packets"] == fed, "raw stats: packets %d" % fed)
    a = json.loads(ask({"cmd": "sessions"}))
    check(a["ok"] and [s["session"] for s in a["sessions"]] == [55736], "raw sessions: B")
    uid = a["sessions"][0]["uid"] if a["sessions"] else 0
    a = json.loads(ask({"cmd": "session", "uid": uid}))
    check(a["ok"] and a["session"]["uid"] == uid, "raw session uid %d" % uid)
    check(ask({"cmd": "session", "uid": 999999}) ==
          '{"ok":false,"cmd":"session","error":"no live session with uid 999999"}', "raw session: unknown uid")
    a = json.loads(ask({"cmd": "config"}))
    check(a["ok"] and a["config"]["control"]["listen"] == "127.0.0.1:0", "raw config")
    a = json.loads(ask({"cmd": "modules"}))
    check(a["ok"] and "files" in [m["name"] for m in a["modules"]], "raw modules")
    check(ask({"cmd": "launch"}).startswith('{"ok":false,"error":"unknown cmd \\"launch\\"; known: stats,'),
          "raw: unknown command answered, session stays")
    check(ask("{not json").startswith('{"ok":false,"error":"bad JSON: '), "raw: bad JSON answered")
    check(ask({"cmd": "enable"}) == '{"ok":false,"error":"enable: \\"module\\": expected a module name"}',
          "raw: missing field answered")
    check(ask({"cmd": "disable", "module": "nope"}).startswith('{"ok":false,"cmd":"disable","error":"'),
          "raw: unknown module refused")
    second = raw_exchange(port, b'{"cmd":"stats"}\n')
    check(second == b'{"ok":false,"error":"another raw control session is active; only one at a time"}\n',
          "second raw session: one error line, then closed: %r" % second[:120])
    check(ask({"cmd": "health"}).startswith('{"ok":true'), "first raw session still served")


def check_errors(port):
    st, _, body = request(port, "GET", "/nope")
    check(st == 404 and body == '{"error":"no such endpoint: /nope"}', "GET /nope: 404 %s" % body)
    st, hdrs, body = request(port, "POST", "/stats")
    check(st == 405 and hdrs.get("allow") == "GET" and body == '{"error":"method not allowed; use GET"}',
          "POST /stats: 405 Allow GET")


def check_events(sth, ev_all, ev_closed, ev_sse, raw):
    stdout = [l.rstrip("\n") for l in open(sth.stdout_path) if l.startswith("{")]
    got = []
    while True:
        c = ev_all.chunk()
        if c == b"":
            break
        got.append(c)
    check(got == [(l + "\n").encode() for l in stdout],
          "/events: %d chunks, each one stdout line + \\n, same order (stdout %d lines)" % (len(got), len(stdout)))
    closed_lines = [l for l in stdout if json.loads(l)["event"] == "session_closed"]
    got = []
    while (c := ev_closed.chunk()) != b"":
        got.append(c.decode().rstrip("\n"))
    check(got == closed_lines and len(got) == 3, "/events?types=session_closed: exactly the 3 session_closed lines")
    want = [("event: %s\ndata: %s\n\n" % (json.loads(l)["event"], l)).encode() for l in stdout
            if json.loads(l)["event"] in ("session_opened", "session_closed")]
    got = []
    while (c := ev_sse.chunk()) != b"":
        got.append(c)
    check(got == want and len(got) == 6, "SSE: 6 events framed 'event: T\\ndata: JSON\\n\\n'")
    lines = []
    try:
        while True:
            lines.append(raw.line())
    except (EOFError, OSError):
        pass
    events = raw.events + [l for l in lines if not l.startswith('{"ok":')]
    check(events == [l for l in stdout if json.loads(l)["event"] in ("session_opened", "session_closed")],
          "raw session: the subscribed events after its subscribe (%d lines)" % len(events))


def limits_run():
    cfg = {"capture": {"input": "pcap-file", "mode": "filter", "stats_interval_sec": 0},
           "control": {"listen": "127.0.0.1:0", "request_timeout_sec": 1.5, "max_connections": 4,
                       "max_pending_bytes": 65536,
                       "max_request_line": 256, "max_header_bytes": 1024, "max_body_bytes": 100}}
    sth = Sth(BIN, WORK, "limits", cfg, fifo=True)
    port = sth.wait_port()
    sth.open_fifo()  # the reader waits for packets (a SIGINT ends it), nothing is sent
    sth.feed(read_pcap(PCAP)[0])
    cases = [
        ("malformed header", b"GET /stats HTTP/1.1\r\nBad Header\r\n\r\n", 400, None),
        ("long request line", b"GET /" + b"a" * 300 + b" HTTP/1.1\r\n\r\n", 414,
         '{"error":"request line longer than 256 bytes"}'),
        ("large header", b"GET /stats HTTP/1.1\r\nX: " + b"b" * 2000 + b"\r\n\r\n", 431,
         '{"error":"request header larger than 1024 bytes"}'),
        ("large body", b"POST /modules/mss/enable HTTP/1.1\r\nContent-Length: 101\r\n\r\n" + b"c" * 101, 413,
         '{"error":"request body larger than 100 bytes"}'),
    ]
    for name, data, status, body in cases:
        out = raw_exchange(port, data).decode(errors="replace")
        head, _, got_body = out.partition("\r\n\r\n")
        ok = head.startswith("HTTP/1.1 %d " % status) and "Connection: close" in head
        ok = ok and (got_body == body if body else json.loads(got_body).get("error", "").startswith("malformed request"))
        check(ok, "%s: %d, JSON error, connection closed: %r" % (name, status, out[:160]))
    # slowloris: one byte a second; the whole request must arrive within 1.5 s.
    s = RawSession(port)
    t0, sent, out = time.monotonic(), 0, b""
    s.sock.settimeout(1.0)
    for b in b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n":
        s.send(bytes([b]))
        sent += 1
        try:
            out = s.sock.recv(4096)
            break
        except TimeoutError:
            continue
    took = time.monotonic() - t0
    check(out.startswith(b"HTTP/1.1 408 ") and 1.4 <= took <= 3.5 and sent <= 3,
          "slowloris at 1 byte/s: 408 after %.1f s, %d bytes sent" % (took, sent))
    s.close()
    idle = RawSession(port)
    idle.send(b"GET /healthz HTTP/1.1\r\n\r\n")
    idle.read_until(b'{"status":"capturing"}')
    t0 = time.monotonic()
    check(idle.at_eof() and 1.4 <= time.monotonic() - t0 <= 3.5, "idle keep-alive connection closed after the timeout")
    # Connection limit: 4 open (idle, each already answered once), the fifth gets 503.
    held = []
    for _ in range(4):
        h = RawSession(port)
        h.send(b"GET /healthz HTTP/1.1\r\n\r\n")
        h.read_until(b'{"status":"capturing"}')
        held.append(h)
    out = raw_exchange(port, b"GET /healthz HTTP/1.1\r\n\r\n").decode()
    check(out.startswith("HTTP/1.1 503 ") and out.endswith('{"error":"too many connections (max_connections 4)"}'),
          "fifth connection: 503 and closed: %r" % out[-80:])
    for h in held:
        h.close()
    st = wait_for(lambda: request(port, "GET", "/stats")[0] == 200, 5, 0.1)
    check(st, "after the limit: served again")
    # Requests pipelined by a client that never reads the answers: closed, not queued forever.
    flood = socket.socket()
    flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    flood.connect(("127.0.0.1", port))
    flood.settimeout(10)
    sent = 0
    try:
        for sent in range(1, 100001):
            flood.sendall(b"GET /config HTTP/1.1\r\n\r\n")
    except OSError:
        pass
    flood.close()
    check(sent < 100000, "a client pipelining requests without reading is closed (after %d requests)" % sent)
    _, stats = get_json(port, "/stats")
    c = stats["counters"]
    check(c.get("http.requests_rejected") == 6 and c.get("http.connections_refused") == 1,
          "counters: requests_rejected %s (want 6), connections_refused %s (want 1)" %
          (c.get("http.requests_rejected"), c.get("http.connections_refused")))
    raw = RawSession(port)
    raw.send(b"x" * 300)
    check(raw.line().startswith('{"ok":false,"error":"command line longer than 256 bytes"}') and raw.at_eof(),
          "raw session: an endless line is refused and the session closed")
    rc = sth.stop()
    check(rc == 0, "limits run: exit 0 after SIGINT (%s)" % rc)


def default_port_taken():
    """The default control plane (no control section) on a taken 127.0.0.1:9797: one
    warning line naming the address and the reason, and the capture runs on."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 9797))
        holder.listen(1)
    except OSError:
        pass  # somebody else holds it: taken all the same
    cfg = os.path.join(WORK, "default.json")
    with open(cfg, "w") as f:
        json.dump({"capture": {"input": "pcap-file", "mode": "filter", "stats_interval_sec": 0}}, f)
    p = subprocess.run([BIN, "-c", cfg, "-r", PCAP], capture_output=True, text=True, timeout=60)
    holder.close()
    warn = [l for l in p.stderr.splitlines() if "cannot listen on 127.0.0.1:9797" in l]
    check(p.returncode == 0 and len(warn) == 1 and " warning " in warn[0] and
          "3 sessions" in p.stderr,
          "default control plane on a taken port: exit %d, one warning line %r, capture ran" %
          (p.returncode, warn))


def ipv6_listen():
    """listen "[::1]:0": the log names [::1]:PORT and HTTP works over IPv6."""
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        print("info: no IPv6 loopback here: [::1] not checked")
        return
    cfg = {"capture": {"input": "pcap-file", "mode": "filter", "stats_interval_sec": 0},
           "control": {"listen": "[::1]:0"}}
    sth = Sth(BIN, WORK, "ipv6", cfg, fifo=True)
    port = sth.wait_port()
    logged = "control plane listening on [::1]:%d" % port in sth.stderr()
    sth.open_fifo()
    sth.feed(read_pcap(PCAP)[0])
    st, _, body = request(port, "GET", "/healthz", host="::1")
    check(logged and st == 200 and body == '{"status":"capturing"}',
          "listen [::1]:0: logged [::1]:%d, /healthz over IPv6 %s %s" % (port, st, body))
    check(sth.stop() == 0, "IPv6 run: exit 0 after SIGINT")


def token_masked():
    """A token on loopback (allowed, then required): 401 without it, 200 with it, and the
    token never appears in /config (masked "***")."""
    cfg = {"capture": {"input": "pcap-file", "mode": "filter", "stats_interval_sec": 0},
           "control": {"listen": "127.0.0.1:0", "token": "t0k-e2e-secret"}}
    sth = Sth(BIN, WORK, "token", cfg, fifo=True)
    port = sth.wait_port()
    sth.open_fifo()
    sth.feed(read_pcap(PCAP)[0])
    st, hdrs, body = request(port, "GET", "/stats")
    check(st == 401 and hdrs.get("www-authenticate") == 'Bearer realm="stethoscope"' and
          body == '{"error":"missing or wrong bearer token"}', "token, none sent: 401 %s" % body)
    st, _, body = request(port, "GET", "/config", headers={"Authorization": "Bearer t0k-e2e-secret"})
    check(st == 200 and json.loads(body)["config"]["control"]["token"] == "***" and
          "t0k-e2e-secret" not in body, "token sent: 200, /config shows it masked")
    check(sth.stop() == 0, "token run: exit 0 after SIGINT")


def config_error():
    cfg = os.path.join(WORK, "offloopback.json")
    with open(cfg, "w") as f:
        json.dump({"capture": {"input": "pcap-file", "file": PCAP},
                   "control": {"listen": "198.18.0.1:9797"}}, f)
    p = subprocess.run([BIN, "-c", cfg, "--check-config"], capture_output=True, text=True, timeout=30)
    msg = "control.token: required when control.listen (198.18.0.1:9797) is not a loopback address"
    check(p.returncode == 2 and msg in p.stderr, "off loopback without a token: exit %d, %r" % (p.returncode, p.stderr.strip()[-200:]))
    with open(cfg, "w") as f:
        json.dump({"capture": {"input": "pcap-file", "file": PCAP},
                   "control": {"listen": "198.18.0.1:9797", "token": "t0k"}}, f)
    p = subprocess.run([BIN, "-c", cfg, "--check-config"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "off loopback with a token: --check-config exit %d" % p.returncode)


if __name__ == "__main__":
    for part in (main_run, idle_watcher, limits_run, default_port_taken, ipv6_listen, token_masked, config_error):
        try:
            part()
        except Exception as e:  # a crash of one part is one failure, the others still run
            check(False, "%s: %s: %s" % (part.__name__, type(e).__name__, e))
    finish()
