// The decoder's TCP checksum verification and header parsing on frames made by the
// capture builder (whose checksums tshark validates in the e2e tests).
#define BOOST_TEST_MODULE decoder
#include <boost/test/unit_test.hpp>

#include "capture_builder.hpp"
#include "decoder.hpp"

using namespace stethoscope::core;
using namespace sth_test;

namespace stethoscope::core {
std::ostream& operator<<(std::ostream& o, DecodeStatus s) { return o << decode_status_name(s); }
}  // namespace stethoscope::core

namespace {
DecodeStatus decode_raw(const Bytes& ip, DecodedPacket& out) {
    sth_packet p{sizeof(sth_packet), 12, 0, static_cast<uint32_t>(ip.size()),
                 static_cast<uint32_t>(ip.size()), ip.data(), 0};
    return decode_packet(p, out);
}
Bytes segment(const IpAddress& a, const IpAddress& b, size_t payload_len, TcpChecksum mode) {
    TcpFields f;
    f.src_port = 40000;
    f.dst_port = 80;
    f.seq = 0x12345678;
    f.ack = 0x9abcdef0;
    f.checksum = mode;
    Bytes payload = pseudo_random_bytes(payload_len, payload_len + 7);
    Bytes tcp = tcp_segment(a, b, f, payload);
    return a.is_v6() ? ipv6_packet(a, b, ip_protocol::tcp, tcp) : ipv4_packet(a, b, ip_protocol::tcp, tcp);
}
}  // namespace

BOOST_AUTO_TEST_CASE(valid_checksums_of_every_length_are_accepted) {
    const IpAddress v4a = IpAddress::parse("198.18.0.1"), v4b = IpAddress::parse("198.18.0.2");
    const IpAddress v6a = IpAddress::parse("2001:db8::1"), v6b = IpAddress::parse("2001:db8::2");
    for (size_t len : {0, 1, 2, 3, 7, 15, 16, 31, 32, 33, 63, 64, 65, 1447, 1448}) {
        DecodedPacket d;
        BOOST_TEST_REQUIRE(decode_raw(segment(v4a, v4b, len, TcpChecksum::correct), d) == DecodeStatus::ok);
        BOOST_TEST(d.checksum_ok, "IPv4 payload " << len);
        BOOST_TEST(d.payload_len == len);
        BOOST_TEST_REQUIRE(decode_raw(segment(v6a, v6b, len, TcpChecksum::correct), d) == DecodeStatus::ok);
        BOOST_TEST(d.checksum_ok, "IPv6 payload " << len);
    }
}

BOOST_AUTO_TEST_CASE(wrong_checksums_are_detected) {
    const IpAddress a = IpAddress::parse("198.18.0.1"), b = IpAddress::parse("198.18.0.2");
    for (TcpChecksum mode : {TcpChecksum::corrupt, TcpChecksum::zero}) {
        for (size_t len : {0, 1, 100, 1448}) {
            DecodedPacket d;
            BOOST_TEST_REQUIRE(decode_raw(segment(a, b, len, mode), d) == DecodeStatus::ok);
            BOOST_TEST(!d.checksum_ok, "payload " << len);
            BOOST_TEST(!d.checksum_partial, "payload " << len);
        }
    }
    // One flipped payload bit is caught too.
    Bytes ip = segment(a, b, 200, TcpChecksum::correct);
    ip[ip.size() - 10] ^= 0x04;
    DecodedPacket d;
    BOOST_TEST_REQUIRE(decode_raw(ip, d) == DecodeStatus::ok);
    BOOST_TEST(!d.checksum_ok);
}

// Linux with transmit checksum offload leaves the folded pseudo-header sum in the field
// (CHECKSUM_PARTIAL) and the NIC finishes it: a capture on the sending host sees that.
BOOST_AUTO_TEST_CASE(a_partial_checksum_of_transmit_offload_is_recognized) {
    const IpAddress v4a = IpAddress::parse("198.18.0.1"), v4b = IpAddress::parse("198.18.0.2");
    const IpAddress v6a = IpAddress::parse("2001:db8::1"), v6b = IpAddress::parse("2001:db8::2");
    for (size_t len : {0, 1, 2, 3, 31, 32, 33, 1447, 1448}) {
        for (bool v6 : {false, true}) {
            DecodedPacket d;
            Bytes ip = v6 ? segment(v6a, v6b, len, TcpChecksum::pseudo_header_only)
                          : segment(v4a, v4b, len, TcpChecksum::pseudo_header_only);
            BOOST_TEST_REQUIRE(decode_raw(ip, d) == DecodeStatus::ok);
            BOOST_TEST(d.checksum_ok, (v6 ? "IPv6" : "IPv4") << " payload " << len);
            BOOST_TEST(d.checksum_partial, (v6 ? "IPv6" : "IPv4") << " payload " << len);
            // A finished checksum is not partial.
            ip = v6 ? segment(v6a, v6b, len, TcpChecksum::correct)
                    : segment(v4a, v4b, len, TcpChecksum::correct);
            BOOST_TEST_REQUIRE(decode_raw(ip, d) == DecodeStatus::ok);
            BOOST_TEST(!d.checksum_partial);
        }
    }
    // The partial sum covers the addresses and the length: the same field on a packet
    // whose length or address differs is a bad checksum.
    Bytes ip = segment(v4a, v4b, 100, TcpChecksum::pseudo_header_only);
    Bytes other = segment(v4a, v4b, 101, TcpChecksum::pseudo_header_only);
    std::copy(ip.begin() + 20 + 16, ip.begin() + 20 + 18, other.begin() + 20 + 16);
    DecodedPacket d;
    BOOST_TEST_REQUIRE(decode_raw(other, d) == DecodeStatus::ok);
    BOOST_TEST(!d.checksum_ok);
    BOOST_TEST(!d.checksum_partial);
}

BOOST_AUTO_TEST_CASE(header_fields_are_read) {
    DecodedPacket d;
    BOOST_TEST_REQUIRE(decode_raw(segment(IpAddress::parse("198.18.0.1"), IpAddress::parse("198.18.0.2"),
                                          10, TcpChecksum::correct),
                                  d) == DecodeStatus::ok);
    BOOST_TEST(d.src_port == 40000);
    BOOST_TEST(d.dst_port == 80);
    BOOST_TEST(d.seq == 0x12345678u);
    BOOST_TEST(d.ack == 0x9abcdef0u);
    BOOST_TEST(d.ip_version == 4);
}

BOOST_AUTO_TEST_CASE(a_cut_packet_is_not_judged_by_its_checksum) {
    Bytes ip = segment(IpAddress::parse("198.18.0.1"), IpAddress::parse("198.18.0.2"), 500,
                       TcpChecksum::corrupt);
    sth_packet p{sizeof(sth_packet), 12, 0, 100, static_cast<uint32_t>(ip.size()), ip.data(), 0};
    DecodedPacket d;
    BOOST_TEST_REQUIRE(decode_packet(p, d) == DecodeStatus::ok);
    BOOST_TEST(d.checksum_ok);  // unknown: the whole segment is not there
    BOOST_TEST(d.payload_captured == 60u);
    BOOST_TEST(d.payload_len == 500u);
}
