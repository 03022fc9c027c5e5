#!/usr/bin/env python3
"""make_bad_pcapng.py — writes damaged pcapng files for the pcap-file input's native reader.

    make_bad_pcapng.py OUTDIR

Every file has an Ethernet and a raw-IP interface, so stethoscope reads it with its own
pcapng reader rather than libpcap (which refuses several link types). Each damaged file
starts with the same two good packets (one per interface: a TCP SYN from 198.18.0.1 and one
from 198.18.0.3), then the damage. Reading one must deliver the two packets, then fail with
exit code 4 and exactly one line on stderr:

    stethoscope: capture FILE is damaged after packet 2: <reason>

NAME                              block offset  reason
truncated_mid_block               228   enhanced packet block at byte 228: block length 88 runs
                                        past the end of the file: truncated at byte 272
truncated_in_header               228   enhanced packet block at byte 228: truncated at byte 234
bad_block_length                  228   enhanced packet block at byte 228: block length 86 is
                                        not a multiple of 4
short_block_length                228   enhanced packet block at byte 228: block length 8 is
                                        below the minimum of 12
huge_block_length                 228   enhanced packet block at byte 228: block length
                                        268435460 exceeds the limit of 64 MiB
trailing_length_mismatch          228   enhanced packet block at byte 228: trailing block
                                        length 92 does not match the leading block length 88
unknown_interface                 228   enhanced packet block at byte 228: unknown interface 7
                                        (the section describes 2)
unknown_interface_new_section     276   enhanced packet block at byte 276: unknown interface 1
                                        (the section describes 1)
caplen_beyond_block               228   enhanced packet block at byte 228: captured length 1000
                                        exceeds the 56 bytes of room in the block

(The reasons are single lines; they are wrapped here.) It also writes one good file,
valid_variety.pcapng: a big-endian section (if_tsresol 2^-20 and if_tsoffset on one
interface, an Enhanced, a Simple and an obsolete Packet Block, plus NRB, ISB and custom
blocks to skip) followed by a little-endian section (if_tsresol 10^-9): 7 packets, exit 0.
"""
import os
import struct
import sys

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101


def pad4(data):
    return data + b"\0" * (-len(data) % 4)


def block(e, btype, body, trailer_delta=0):
    """A whole block of type btype around body (padded), byte order e ('<' or '>')."""
    body = pad4(body)
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total + trailer_delta)


def shb(e="<"):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def option(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + pad4(value)


def idb(e, linktype, snaplen=262144, options=b""):
    if options:
        options += struct.pack(e + "HH", 0, 0)
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + options)


def epb(e, iface, ticks, data, caplen=None, orig_len=None):
    caplen = len(data) if caplen is None else caplen
    orig_len = len(data) if orig_len is None else orig_len
    head = struct.pack(e + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, caplen, orig_len)
    return block(e, 6, head + data)


def spb(e, data):
    return block(e, 3, struct.pack(e + "I", len(data)) + data)


def obsolete_pb(e, iface, ticks, data):
    head = struct.pack(e + "HHIIII", iface, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                       len(data))
    return block(e, 2, head + data)


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def tcp_syn(src, dst, sport, dport):
    """An IPv4 TCP SYN (no options); the TCP checksum is left at 0."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return ip + tcp


def ethernet(payload):
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]) + b"\x08\x00" + payload


ETH_SYN = ethernet(tcp_syn([198, 18, 0, 1], [198, 18, 0, 2], 41000, 80))  # 54 bytes
RAW_SYN = tcp_syn([198, 18, 0, 3], [198, 18, 0, 4], 41001, 8080)  # 40 bytes
T0 = 1_700_000_000_000_000  # microseconds


def good_start():
    """SHB, IDB Ethernet, IDB raw, one packet on each: 228 bytes."""
    return (shb() + idb("<", LINKTYPE_ETHERNET) + idb("<", LINKTYPE_RAW) +
            epb("<", 0, T0, ETH_SYN) + epb("<", 1, T0 + 100, RAW_SYN))


def with_length(blk, length):
    return blk[:4] + struct.pack("<I", length) + blk[8:]


def damaged_files():
    start = good_start()
    assert len(start) == 228
    third = epb("<", 0, T0 + 200, ETH_SYN)  # 88 bytes
    assert len(third) == 88
    return {
        "truncated_mid_block": start + third[:44],
        "truncated_in_header": start + third[:6],
        "bad_block_length": start + with_length(third, 86),
        "short_block_length": start + with_length(third, 8),
        "huge_block_length": start + with_length(third, 256 * 1024 * 1024 + 4),
        "trailing_length_mismatch": start + block("<", 6, third[8:-4], trailer_delta=4),
        "unknown_interface": start + epb("<", 7, T0 + 200, ETH_SYN),
        "unknown_interface_new_section":
            start + shb() + idb("<", LINKTYPE_RAW) + epb("<", 1, T0 + 200, RAW_SYN),
        "caplen_beyond_block": start + epb("<", 0, T0 + 200, ETH_SYN, caplen=1000),
    }


def valid_variety():
    be, le = ">", "<"
    pow2_20 = option(be, 9, bytes([0x80 | 20]))
    offset = option(be, 14, struct.pack(be + "q", 1_000))
    t0_pow2 = ((T0 // 1_000_000 - 1_000) << 20) + (T0 % 1_000_000 << 20) // 1_000_000
    nrb = block(be, 4, struct.pack(be + "HH", 0, 0))
    isb = block(be, 5, struct.pack(be + "III", 0, 0, 0))
    custom = block(be, 0x00000BAD, struct.pack(be + "I", 32473) + b"custom")
    section_be = (shb(be) + idb(be, LINKTYPE_ETHERNET, options=pow2_20 + offset) + nrb +
                  idb(be, LINKTYPE_RAW) + epb(be, 0, t0_pow2, ETH_SYN) + spb(be, ETH_SYN) +
                  obsolete_pb(be, 1, T0 + 100, RAW_SYN) + isb + custom)
    ns = option(le, 9, bytes([9]))
    section_le = (shb(le) + idb(le, LINKTYPE_RAW, options=ns) + idb(le, LINKTYPE_ETHERNET) +
                  epb(le, 0, (T0 + 200) * 1000 + 7, RAW_SYN) + epb(le, 1, T0 + 300, ETH_SYN) +
                  spb(le, RAW_SYN) + epb(le, 1, T0 + 400, ETH_SYN[:34], orig_len=54))
    return section_be + section_le


def main():
    if len(sys.argv) != 2:
        print("usage: make_bad_pcapng.py OUTDIR", file=sys.stderr)
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    files = damaged_files()
    files["valid_variety"] = valid_variety()
    for name, data in files.items():
        with open(os.path.join(outdir, name + ".pcapng"), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
