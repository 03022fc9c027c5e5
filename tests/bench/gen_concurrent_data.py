#!/usr/bin/env python3
"""gen_concurrent_data.py — a synthetic capture of N concurrent TCP sessions that carry data
in both directions and then all close.

    gen_concurrent_data.py OUT.pcap [--sessions 1000] [--segments 20]
                           [--request-bytes 600] [--response-bytes 1400]

Unlike gen_concurrent (one request segment per session, never closed), every session here
is complete, and all are open at once:
  1. every session's handshake (SYN, SYN-ACK, ACK), session after session;
  2. SEGMENTS rounds; in each round every session sends one request segment (client,
     PSH+ACK) and then one response segment (server, PSH+ACK, acking the request);
  3. every session closes: client FIN, server FIN (acking it), client ACK.
So at the end of phase 1 all N sessions are open, and none ends before phase 3.

Per session: SEGMENTS x REQUEST_BYTES request bytes and SEGMENTS x RESPONSE_BYTES response
bytes (printed, with the totals, as key=value lines on stdout, and written to OUT.info).
Payload bytes are a deterministic function of session, direction and offset.

Classic pcap, microsecond timestamps, Ethernet (EN10MB), IPv4; clients 10.1.X.Y (250 per
/24) port 20000 + i % 40000, server 10.2.0.1:80; ISNs differ per session. IPv4 header and
TCP checksums are correct. The shared clock advances 10 us per packet (1,000 sessions x 20
rounds span under half a second of capture time, far below any idle timeout).
"""
import argparse
import array
import struct
import sys

ETH_HDR = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"  # dst, src, IPv4
ETH_HDR_REV = bytes.fromhex("020000000001" "020000000002") + b"\x08\x00"

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(array.array("H", data))  # native order; fixed up below
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    # array("H") summed the words in host order: on a little-endian host the one's
    # complement sum is byte-swapped, and so is its complement.
    if sys.byteorder == "little":
        s = ((s & 0xFF) << 8) | (s >> 8)
    return s


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def payload(session, direction, offset, size):
    # Cheap and deterministic: a 256-byte pattern seeded by session and direction.
    seed = (session * 2 + direction) * 131
    pat = bytes(((seed + i * 7) & 0xFF) for i in range(256))
    start = offset % 256
    reps = (start + size) // 256 + 1
    return (pat * reps)[start:start + size]


class Writer:
    def __init__(self, f):
        self.f = f
        self.ts_us = 1_700_000_000 * 1_000_000
        self.packets = 0
        self.ip_id = 0
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

    def tcp(self, src, sport, dst, dport, seq, ack, flags, data=b"", options=b""):
        thl = 20 + len(options)
        tcp_hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                              (thl // 4) << 4, flags, 65535, 0, 0) + options
        seg = tcp_hdr + data
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        c = csum(pseudo + seg)
        seg = seg[:16] + struct.pack("!H", c) + seg[18:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        total = 20 + len(seg)
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.ip_id, 0x4000, 64, 6, 0, src, dst)
        iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
        frame = (ETH_HDR if src[1] == 1 else ETH_HDR_REV) + iph + seg
        self.ts_us += 10
        self.f.write(struct.pack("<IIII", self.ts_us // 1_000_000, self.ts_us % 1_000_000,
                                 len(frame), len(frame)))
        self.f.write(frame)
        self.packets += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--segments", type=int, default=20)
    ap.add_argument("--request-bytes", type=int, default=600)
    ap.add_argument("--response-bytes", type=int, default=1400)
    a = ap.parse_args()
    if not 1 <= a.sessions <= 40000:
        ap.error("--sessions must be 1..40000")
    if not (1 <= a.request_bytes <= 1460 and 1 <= a.response_bytes <= 1460):
        ap.error("segment sizes must be 1..1460")

    server = ip4("10.2.0.1")
    sess = []
    for i in range(a.sessions):
        client = bytes([10, 1, i // 250 % 256, i % 250 + 1])
        cisn = (i * 2654435761 + 12345) & 0xFFFFFFFF
        sisn = (i * 40503 * 65537 + 777) & 0xFFFFFFFF
        sess.append({"ip": client, "port": 20000 + i % 40000, "cseq": cisn, "sseq": sisn})
    mss = struct.pack("!BBH", 2, 4, 1460)
    with open(a.out, "wb") as f:
        w = Writer(f)
        for s in sess:  # 1: handshakes
            w.tcp(s["ip"], s["port"], server, 80, s["cseq"], 0, SYN, options=mss)
            w.tcp(server, 80, s["ip"], s["port"], s["sseq"], s["cseq"] + 1, SYN | ACK, options=mss)
            s["cseq"] += 1
            s["sseq"] += 1
            w.tcp(s["ip"], s["port"], server, 80, s["cseq"], s["sseq"], ACK)
        for r in range(a.segments):  # 2: data, interleaved across sessions
            for i, s in enumerate(sess):
                d = payload(i, 0, r * a.request_bytes, a.request_bytes)
                w.tcp(s["ip"], s["port"], server, 80, s["cseq"], s["sseq"], PSH | ACK, d)
                s["cseq"] += len(d)
                d = payload(i, 1, r * a.response_bytes, a.response_bytes)
                w.tcp(server, 80, s["ip"], s["port"], s["sseq"], s["cseq"], PSH | ACK, d)
                s["sseq"] += len(d)
        for s in sess:  # 3: close
            w.tcp(s["ip"], s["port"], server, 80, s["cseq"], s["sseq"], FIN | ACK)
            s["cseq"] += 1
            w.tcp(server, 80, s["ip"], s["port"], s["sseq"], s["cseq"], FIN | ACK)
            s["sseq"] += 1
            w.tcp(s["ip"], s["port"], server, 80, s["cseq"], s["sseq"], ACK)
    req = a.sessions * a.segments * a.request_bytes
    resp = a.sessions * a.segments * a.response_bytes
    info = (f"synthetic=gen_concurrent_data\nsessions={a.sessions}\nsegments={a.segments}\n"
            f"request_bytes={a.segments * a.request_bytes}\n"
            f"response_bytes={a.segments * a.response_bytes}\n"
            f"total_request_bytes={req}\ntotal_response_bytes={resp}\npackets={w.packets}\n")
    with open(a.out + ".info", "w") as f:
        f.write(info)
    sys.stdout.write(info)


if __name__ == "__main__":
    main()
