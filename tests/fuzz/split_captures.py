#!/usr/bin/env python3
"""split_captures.py — turns .pcap/.pcapng captures into libFuzzer seeds.

    split_captures.py CAPTURE_DIR OUTDIR

Writes, for every capture NAME in CAPTURE_DIR:
  OUTDIR/fuzz_decoder/NAME-<n>        one per frame: [link selector][0][frame], plus a
                                      snaplen-cut copy of every TCP frame with payload
  OUTDIR/fuzz_engine/NAME-0000        the whole capture as fuzz_engine records (raw-IP
                                      frames get an Ethernet header)
  OUTDIR/fuzz_reassembler/NAME-<k>    each of the first TCP connections as reassembler
                                      operations in content mode (stream 0: the first
                                      sender's bytes)
The formats are the ones documented at the top of fuzz_decoder.cpp, fuzz_engine.cpp and
fuzz_reassembler.cpp. A file that is not a capture is skipped with a note; a capture that
ends inside a record keeps the records before it.
"""
import os
import struct
import sys

# Index = link selector of fuzz_decoder.cpp (k_linktypes).
DECODER_LINKTYPES = [0, 1, 12, 101, 108, 113, 276, 228, 229, 14, 147]
ETHERNET, RAW_TYPES = 1, (12, 14, 101, 228, 229)

# fuzz_engine.cpp k_time_steps, in nanoseconds.
US, MS, S = 1_000, 1_000_000, 1_000_000_000
ENGINE_TIME_STEPS = [0, US, 50 * US, 250 * US, MS, 10 * MS, 100 * MS, 499 * MS,
                     501 * MS, S, 2 * S, 5 * S, 59_999 * MS, 60_001 * MS, 600 * S, 3_600 * S]

# fuzz_reassembler.cpp: config = content mode (the payload is a function of the sequence
# number, so the seeds carry no payload bytes and stay small, and every delivered byte is
# checked), flow cap 4096, global cap 8192, 2 streams.
REASSEMBLER_CONFIG = 1 | (2 << 1) | (2 << 3) | (1 << 5)
OP_SET_ISN, OP_PEER_ACK, OP_ADD_ABSOLUTE, OP_FIN = 3, 4, 7, 0x80
REASSEMBLER_FLOWS_PER_CAPTURE = 3

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


class Frame:
    def __init__(self, linktype, ts_ns, orig_len, data):
        self.linktype, self.ts_ns, self.orig_len, self.data = linktype, ts_ns, orig_len, data


# ------------------------------------------------------------------------- readers

def read_pcap(blob):
    magic = blob[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
             b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}[magic]
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(order + "I", blob[20:24])[0] & 0x0FFFFFFF
    pos, frames = 24, []
    while pos + 16 <= len(blob):
        sec, frac, incl, orig = struct.unpack(order + "IIII", blob[pos:pos + 16])
        if pos + 16 + incl > len(blob):
            break  # the file ends inside this record
        ts = sec * S + (frac if nano else frac * US)
        frames.append(Frame(linktype, ts, orig, blob[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return frames


def read_pcapng(blob):
    frames, interfaces, order, pos = [], [], "<", 0
    while pos + 12 <= len(blob):
        btype = struct.unpack(order + "I", blob[pos:pos + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: byte order, fresh interface list
            order = "<" if blob[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        blen = struct.unpack(order + "I", blob[pos + 4:pos + 8])[0]
        if blen < 12 or pos + blen > len(blob):
            break
        body = blob[pos + 8:pos + blen - 4]
        if btype == 1:  # interface description
            interfaces.append([struct.unpack(order + "H", body[:2])[0], 6])
            read_tsresol(body[8:], order, interfaces[-1])
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iface, hi, lo, incl, orig = struct.unpack(order + "IIIII", body[:20])
            if iface < len(interfaces):
                linktype, resol = interfaces[iface]
                ts = ((hi << 32 | lo) * S) // (10 ** resol)
                frames.append(Frame(linktype, ts, orig, body[20:20 + incl]))
        elif btype == 3 and interfaces and len(body) >= 4:  # simple packet
            orig = struct.unpack(order + "I", body[:4])[0]
            frames.append(Frame(interfaces[0][0], 0, orig, body[4:4 + orig]))
        pos += blen
    return frames


def read_tsresol(options, order, interface):
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack(order + "HH", options[pos:pos + 4])
        if code == 0:
            return
        if code == 9 and length >= 1 and not options[pos + 4] & 0x80:
            interface[1] = options[pos + 4]  # power of ten (power-of-two units are rare)
        pos += 4 + (length + 3) // 4 * 4


def read_capture(path):
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(blob)
    if len(blob) >= 24 and blob[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1",
                                        b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        return read_pcap(blob)
    return None


# ------------------------------------------------------------------------- TCP parsing

def ip_packet(frame):
    """The IP packet of a frame (Ethernet with VLAN tags, or raw IP), else None."""
    d = frame.data
    if frame.linktype in RAW_TYPES:
        return d
    if frame.linktype != ETHERNET or len(d) < 14:
        return None
    off, etype = 14, struct.unpack(">H", d[12:14])[0]
    while etype in (0x8100, 0x88A8, 0x9100) and len(d) >= off + 4:
        etype = struct.unpack(">H", d[off + 2:off + 4])[0]
        off += 4
    return d[off:] if etype in (0x0800, 0x86DD) else None


def tcp_segment(frame):
    """(src, dst, sport, dport, seq, ack, flags, payload) of a TCP frame, else None."""
    ip = ip_packet(frame)
    if not ip:
        return None
    if ip[0] >> 4 == 4 and len(ip) >= 20 and ip[9] == 6:
        ihl, total = (ip[0] & 15) * 4, struct.unpack(">H", ip[2:4])[0]
        src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:total]
    elif ip[0] >> 4 == 6 and len(ip) >= 40 and ip[6] == 6:
        total = 40 + struct.unpack(">H", ip[4:6])[0]
        src, dst, tcp = ip[8:24], ip[24:40], ip[40:total]
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
    hdr = (tcp[12] >> 4) * 4
    return src, dst, sport, dport, seq, ack, tcp[13], tcp[hdr:]


# ------------------------------------------------------------------------- seeds

def decoder_seeds(frames):
    seeds = []
    for f in frames:
        if f.linktype not in DECODER_LINKTYPES:
            continue
        selector = DECODER_LINKTYPES.index(f.linktype)
        seeds.append(bytes([selector, 0]) + f.data)
        seg = tcp_segment(f)
        if seg and seg[7] and len(f.data) > 64:  # the same frame cut by a 64-byte snaplen
            seeds.append(bytes([selector, 1 + (len(f.data) - 64) // 7]) + f.data[:64])
    return seeds


def as_ethernet(frame):
    if frame.linktype == ETHERNET:
        return frame.data
    if frame.linktype in RAW_TYPES and frame.data:
        etype = b"\x86\xdd" if frame.data[0] >> 4 == 6 else b"\x08\x00"
        return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + etype + frame.data
    return None


def nearest_step(delta):
    return min(range(len(ENGINE_TIME_STEPS)), key=lambda i: abs(ENGINE_TIME_STEPS[i] - delta))


def engine_seed(frames):
    out, last_ts = bytearray([0]), None
    for f in frames:
        eth = as_ethernet(f)
        if eth is None or len(eth) > 0xFFFF:
            continue
        step = 0 if last_ts is None else nearest_step(max(0, f.ts_ns - last_ts))
        last_ts = f.ts_ns
        out += struct.pack(">HB", len(eth), step) + eth
    return bytes(out) if len(out) > 1 else None


def reassembler_seeds(frames):
    # (client, server) endpoints -> segments of its current connection; a bare SYN on a
    # known 4-tuple starts a new connection (as the engine does on port reuse).
    current, connections = {}, []
    for f in frames:
        seg = tcp_segment(f)
        if seg is None:
            continue
        a, b = (seg[0], seg[2]), (seg[1], seg[3])
        key, direction = ((b, a), 1) if (b, a) in current else ((a, b), 0)
        if key not in current or seg[6] & (SYN | ACK) == SYN and current[key]:
            key, direction = (a, b), 0
            current[key] = []
            connections.append(current[key])
        current[key].append((direction, seg))
    seeds = []
    for segments in connections[:REASSEMBLER_FLOWS_PER_CAPTURE]:
        ops = bytearray([REASSEMBLER_CONFIG])
        for direction, (_, _, _, _, seq, ack, flags, payload) in segments:
            if flags & RST:
                continue
            if flags & SYN:
                ops += bytes([OP_SET_ISN | direction << 3]) + struct.pack(">I", seq)
                seq = (seq + 1) & 0xFFFFFFFF
            if payload or flags & FIN:
                op = OP_ADD_ABSOLUTE | direction << 3 | (OP_FIN if flags & FIN else 0)
                length = bytes([len(payload)]) if len(payload) < 0xF0 else \
                    b"\xff" + struct.pack(">I", len(payload))
                ops += bytes([op]) + struct.pack(">I", seq) + length + b"\x00"
            if flags & ACK:
                ops += bytes([OP_PEER_ACK | (1 - direction) << 3, 4]) + struct.pack(">I", ack)
        seeds.append(bytes(ops))
    return seeds


def write_seeds(directory, name, seeds):
    os.makedirs(directory, exist_ok=True)
    for i, seed in enumerate(seeds):
        with open(os.path.join(directory, f"{name}-{i:04d}"), "wb") as f:
            f.write(seed)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: split_captures.py CAPTURE_DIR OUTDIR")
    capture_dir, outdir = sys.argv[1], sys.argv[2]
    counts = {"fuzz_decoder": 0, "fuzz_engine": 0, "fuzz_reassembler": 0}
    for entry in sorted(os.listdir(capture_dir)):
        if not entry.endswith((".pcap", ".pcapng")):
            continue
        try:
            frames = read_capture(os.path.join(capture_dir, entry))
        except (KeyError, struct.error, IndexError):
            frames = None
        if not frames:
            print(f"split_captures: {entry}: not a readable capture, skipped")
            continue
        name = os.path.splitext(entry)[0]
        per_target = {"fuzz_decoder": decoder_seeds(frames),
                      "fuzz_engine": [s for s in [engine_seed(frames)] if s],
                      "fuzz_reassembler": reassembler_seeds(frames)}
        for target, seeds in per_target.items():
            write_seeds(os.path.join(outdir, target), name, seeds)
            counts[target] += len(seeds)
    for target, n in counts.items():
        print(f"split_captures: {target}: {n} seeds")
    if not all(counts.values()):
        sys.exit("split_captures: a target got no seeds")


if __name__ == "__main__":
    main()
