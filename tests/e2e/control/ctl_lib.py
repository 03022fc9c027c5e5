"""Helpers of the control-plane end-to-end tests (standard library only).

- Results: check(ok, message) prints one PASS/FAIL line; finish() exits 0 or 1.
- Captures: read_pcap / write_pcap (classic pcap), tcp_info (ports, flags, payload size of
  an Ethernet/IPv4/TCP frame), craft_sessions (N short HTTP-like sessions, valid checksums).
- The tool: Sth(binary, workdir, name, config) runs the real stethoscope on a file or a
  FIFO, learns the control port from its "control plane listening on" log line, and stops
  it with SIGINT. Every wait has a deadline; nothing sleeps a fixed time.
- Clients: http(port, method, path, ...) one request (http.client); EventStream reads
  /events with exact framing (chunked NDJSON or SSE) on a raw socket; RawSession speaks the
  raw JSON-lines control session.
"""
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

RESULTS = {"pass": 0, "fail": 0}


def check(ok, message):
    RESULTS["pass" if ok else "fail"] += 1
    print(("PASS: " if ok else "FAIL: ") + message, flush=True)
    return ok


def finish():
    print("%d passed, %d failed" % (RESULTS["pass"], RESULTS["fail"]))
    sys.exit(1 if RESULTS["fail"] else 0)


def wait_for(predicate, timeout, step=0.02):
    """Polls predicate until it returns a true value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


# --- captures ---------------------------------------------------------------------------
def read_pcap(path):
    """(global header bytes, [record bytes incl. its 16-byte header])."""
    data = open(path, "rb").read()
    records, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        records.append(data[off:off + 16 + incl])
        off += 16 + incl
    return data[:24], records


def tcp_info(record):
    """(sport, dport, flags, payload_len) of an Ethernet/IPv4/TCP record, else None."""
    frame = record[16:]
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack_from("!H", frame, 16)[0]
    tcp = 14 + ihl
    sport, dport = struct.unpack_from("!HH", frame, tcp)
    doff = (frame[tcp + 12] >> 4) * 4
    return sport, dport, frame[tcp + 13], total - ihl - doff


FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp


def craft_sessions(path, count, request=b"GET / HTTP/1.1\r\n\r\n", response_size=200):
    """Writes `count` complete sessions (handshake, one request, one response, FINs)
    between 10.0.0.1 (ports 1024..) and 10.0.0.2:80, 1 ms apart. Returns the byte counts
    per session (requests, responses)."""
    cli, srv = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    response = b"x" * response_size
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    t = 1_700_000_000.0
    for i in range(count):
        sp = 1024 + i % 60000
        c, s = 1000, 5000
        pkts = [
            (cli, srv, sp, 80, c, 0, SYN, b""),
            (srv, cli, 80, sp, s, c + 1, SYN | ACK, b""),
            (cli, srv, sp, 80, c + 1, s + 1, ACK, b""),
            (cli, srv, sp, 80, c + 1, s + 1, ACK, request),
            (srv, cli, 80, sp, s + 1, c + 1 + len(request), ACK, response),
            (cli, srv, sp, 80, c + 1 + len(request), s + 1 + len(response), FIN | ACK, b""),
            (srv, cli, 80, sp, s + 1 + len(response), c + 2 + len(request), FIN | ACK, b""),
            (cli, srv, sp, 80, c + 2 + len(request), s + 2 + len(response), ACK, b""),
        ]
        for p in pkts:
            f = _frame(*p)
            out.append(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(f), len(f)) + f)
            t += 0.000_01
        t += 0.001
    with open(path, "wb") as fh:
        fh.write(b"".join(out))
    return len(request), response_size


# --- the tool ---------------------------------------------------------------------------
class Sth:
    """The real stethoscope reading `source` (a file, or a FIFO this object feeds)."""

    def __init__(self, binary, workdir, name, config, source=None, fifo=False, args=()):
        self.name, self.dir = name, workdir
        self.cfg_path = os.path.join(workdir, name + ".json")
        with open(self.cfg_path, "w") as f:
            json.dump(config, f)
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        self.fifo = None
        if fifo:
            source = os.path.join(workdir, name + ".fifo")
            if os.path.exists(source):
                os.unlink(source)
            os.mkfifo(source)
        cmd = [binary, "-c", self.cfg_path] + (["-r", source] if source else []) + list(args)
        self.proc = subprocess.Popen(cmd, stdout=open(self.stdout_path, "wb"),
                                     stderr=open(self.stderr_path, "wb"))
        self.fifo_path = source if fifo else None
        self.port = None

    def stderr(self):
        return open(self.stderr_path, errors="replace").read()

    def events(self):
        return [json.loads(l) for l in open(self.stdout_path) if l.startswith("{")]

    def wait_port(self, timeout=15):
        pat = re.compile(r"control plane listening on (\S+):(\d+)")
        m = wait_for(lambda: pat.search(self.stderr()) or self.proc.poll() is not None, timeout)
        m = pat.search(self.stderr())
        if not m:
            raise RuntimeError("%s: no 'control plane listening' line: %s" % (self.name, self.stderr()[-500:]))
        self.port = int(m.group(2))
        return self.port

    def open_fifo(self):
        self.fifo = open(self.fifo_path, "wb", buffering=0)

    def feed(self, data):
        self.fifo.write(data)

    def close_fifo(self):
        if self.fifo:
            self.fifo.close()
            self.fifo = None

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=20):
        self.close_fifo()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        rc = self.wait(timeout)
        if rc is None:
            self.proc.kill()
            rc = self.proc.wait()
        return rc


# --- clients ----------------------------------------------------------------------------
def request(port, method, path, headers=None, body=None, host="127.0.0.1", timeout=10):
    """(status, {lower-case header: value}, body text)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read().decode()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, data


def get_json(port, path, **kw):
    status, _, body = request(port, "GET", path, **kw)
    return status, json.loads(body)


def raw_exchange(port, data, host="127.0.0.1", timeout=10):
    """Sends bytes, reads until the server closes: everything it sent."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


class LineSocket:
    """A socket read line by line with a deadline per read."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_until(self, sep):
        while sep not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("closed with %r unread" % self.buf[:200])
            self.buf += d
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("closed after %d of %d bytes" % (len(self.buf), n))
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def at_eof(self):
        try:
            return self.sock.recv(1) == b""
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


class EventStream(LineSocket):
    """GET /events; chunks() yields each chunk's payload exactly as framed."""

    def __init__(self, port, query="", sse=False, headers=(), host="127.0.0.1"):
        super().__init__(port, host)
        extra = "".join("%s: %s\r\n" % h for h in headers)
        accept = "Accept: text/event-stream\r\n" if sse else ""
        self.send(("GET /events%s HTTP/1.1\r\nHost: x\r\n%s%s\r\n" % (query, accept, extra)).encode())
        self.head = self.read_until(b"\r\n\r\n").decode()

    def chunk(self):
        """The next chunk's payload; b"" for the last chunk. Checks the framing."""
        size_line = self.read_until(b"\r\n")
        size = int(size_line[:-2], 16)
        payload = self.read_exact(size)
        if self.read_exact(2) != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        return payload


class RawSession(LineSocket):
    """The raw control session: one JSON command a line, answers and events as lines."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        super().__init__(port, host, timeout)
        self.events = []

    def command(self, obj_or_text):
        text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        self.send(text.encode() + b"\n")

    def line(self):
        return self.read_until(b"\n")[:-1].decode()

    def answer(self):
        """The next line that is an answer ({"ok":...}); event lines before it are kept
        in self.events."""
        while True:
            l = self.line()
            if l.startswith('{"ok":'):
                return l
            self.events.append(l)

