// capture_builder.hpp — test-only tools to craft packets and write capture files.
//
// Three layers, each usable on its own:
//
//   1. CaptureWriter  — builds a classic pcap or a pcapng file in memory, record by record,
//                       and saves it. It can also write arbitrary bytes and cut the file
//                       short, so tests can produce broken captures on purpose.
//   2. Packet crafting — free functions that build Ethernet II (with 802.1Q tags, padding,
//                       trailers), IPv4 (options, fragments), IPv6 and TCP (options,
//                       checksums right or deliberately wrong) as plain byte vectors.
//   3. TcpConversation — drives one TCP connection between a client and a server: it
//                       tracks sequence and acknowledgement numbers, segments payloads by
//                       MSS, answers with ACKs, and records every payload byte it put on
//                       the wire, so a test gets the exact expected streams for free.
//                       `segment()` builds a frame without writing it, for tests that
//                       reorder, duplicate, drop or overlap segments themselves.
//
// Depends on the C++ standard library only (plus POSIX inet_pton to parse addresses).
// Every multi-byte field is written explicitly in the byte order its format demands, so
// the output is the same on any host. Errors in test code (bad address text, options that
// do not fit) throw std::invalid_argument / std::length_error / std::logic_error.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sth_test {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// The bytes of `text`, without a terminator.
Bytes to_bytes(std::string_view text);

// `size` deterministic pseudo-random bytes (splitmix64 of `seed`): the same seed gives the
// same bytes on every platform and run.
Bytes pseudo_random_bytes(std::size_t size, std::uint64_t seed);

// Writes `bytes` to `path` (truncating); throws std::runtime_error on failure.
void write_file(const std::filesystem::path& path, ByteView bytes);

// ===================================================================================
// Capture files
// ===================================================================================

namespace linktype {
inline constexpr std::uint32_t bsd_null = 0;   // DLT_NULL: 4-byte address family, host order
inline constexpr std::uint32_t ethernet = 1;   // DLT_EN10MB
inline constexpr std::uint32_t raw = 101;      // LINKTYPE_RAW: the frame is an IPv4/IPv6 packet
inline constexpr std::uint32_t bsd_loop = 108; // DLT_LOOP: 4-byte address family, network order
inline constexpr std::uint32_t linux_sll = 113;   // Linux cooked capture v1 (16-byte header)
inline constexpr std::uint32_t linux_sll2 = 276;  // Linux cooked capture v2 (20-byte header)
}  // namespace linktype

inline constexpr std::uint32_t k_default_snaplen = 262144;

enum class CaptureFormat {
    pcap,    // classic pcap, magic 0xa1b2c3d4 written little-endian, microsecond timestamps
    pcapng,  // one Section Header Block, Interface Description Blocks, Enhanced Packet Blocks
};

// Builds a capture file in memory; `save()` writes it out. Not thread-safe.
//
// Interfaces: the constructor creates interface 0 with `linktype` and `snaplen`. A pcap file
// has exactly that one; a pcapng file may get more with `add_interface()` (its IDB is
// appended at that point, which pcapng allows as long as it precedes the packets that use
// it). pcapng interfaces use the default if_tsresol (microseconds) unless told otherwise.
//
// Broken files on purpose: `write_raw_bytes()` appends anything; `truncate_last(n)` drops
// the last n bytes of the file, e.g. `truncate_last(last_record_size() / 2)` leaves the
// file ending in the middle of the last record.
class CaptureWriter {
public:
    explicit CaptureWriter(CaptureFormat format, std::uint32_t linktype = linktype::ethernet,
                           std::uint32_t snaplen = k_default_snaplen);

    // pcapng only (throws std::logic_error for pcap). `tsresol_exponent` is the if_tsresol
    // power of ten (6 = microseconds, written as no option; 9 = nanoseconds).
    // Returns the new interface's index.
    std::uint32_t add_interface(std::uint32_t linktype, std::uint32_t snaplen = k_default_snaplen,
                                std::uint8_t tsresol_exponent = 6);

    // Appends one packet record. `orig_len` is the length on the wire (0 = frame.size()).
    // A frame longer than the interface's snaplen is cut to snaplen, as a capture would,
    // and orig_len then defaults to the full size. orig_len is not checked against the
    // captured length, so hostile tests may write caplen > len.
    void write(std::uint64_t ts_us, ByteView frame, std::uint32_t interface = 0,
               std::uint32_t orig_len = 0);

    // Appends `bytes` to the file as they are (no record framing).
    void write_raw_bytes(ByteView bytes);

    // Removes the last `n` bytes of the file (throws if n exceeds the file size).
    void truncate_last(std::size_t n);

    // Size in bytes of the most recent record written by write(), headers included.
    std::size_t last_record_size() const { return last_record_size_; }
    std::size_t record_count() const { return record_count_; }
    std::size_t interface_count() const { return interfaces_.size(); }
    std::uint32_t linktype_of(std::uint32_t interface) const;
    CaptureFormat format() const { return format_; }

    const Bytes& bytes() const { return file_; }
    void save(const std::filesystem::path& path) const;

private:
    struct Interface {
        std::uint32_t linktype;
        std::uint32_t snaplen;
        std::uint8_t tsresol_exponent;
    };

    void write_pcap_header();
    void write_pcapng_section_header();
    void write_pcapng_interface(const Interface& iface);
    void write_pcap_record(std::uint64_t ts_us, ByteView data, std::uint32_t orig_len);
    void write_pcapng_packet(std::uint64_t ts_us, ByteView data, std::uint32_t interface,
                             std::uint32_t orig_len);
    const Interface& interface_at(std::uint32_t interface) const;

    CaptureFormat format_;
    std::vector<Interface> interfaces_;
    Bytes file_;
    std::size_t last_record_size_ = 0;
    std::size_t record_count_ = 0;
};

// ===================================================================================
// Addresses
// ===================================================================================

// An IPv4 or IPv6 address in network byte order.
class IpAddress {
public:
    // Parses dotted-quad or any inet_pton IPv6 text; throws std::invalid_argument.
    static IpAddress parse(std::string_view text);

    bool is_v6() const { return v6_; }
    // 4 or 16 bytes, network order.
    ByteView bytes() const { return ByteView(bytes_.data(), v6_ ? 16 : 4); }
    // Dotted quad, or RFC 5952 (lower-case hex, longest run of two or more zero groups
    // compressed to "::", the first such run on a tie). IPv4-mapped (::ffff:a.b.c.d) and
    // IPv4-compatible (::a.b.c.d) addresses end in dotted quad, as inet_ntop writes them.
    std::string to_string() const;
    // The address as stethoscope writes it in file names: RFC 5952 with ':' as '.'.
    std::string file_name_form() const;

    friend bool operator==(const IpAddress&, const IpAddress&) = default;

private:
    bool v6_ = false;
    std::array<std::uint8_t, 16> bytes_{};
};

using MacAddress = std::array<std::uint8_t, 6>;

// ===================================================================================
// Packet crafting
// ===================================================================================

// Internet checksum (RFC 1071) of `data`, folding in a partial 32-bit sum `initial`.
std::uint16_t internet_checksum(ByteView data, std::uint32_t initial = 0);

namespace ethertype {
inline constexpr std::uint16_t ipv4 = 0x0800;
inline constexpr std::uint16_t ipv6 = 0x86DD;
inline constexpr std::uint16_t vlan = 0x8100;  // 802.1Q
inline constexpr std::uint16_t qinq = 0x88A8;  // 802.1ad service tag
}  // namespace ethertype

// One 802.1Q / 802.1ad tag; tags are written outermost first.
struct VlanTag {
    std::uint16_t id = 0;       // 12 bits
    std::uint8_t priority = 0;  // PCP, 3 bits
    std::uint16_t tpid = ethertype::vlan;
};

struct EthernetFields {
    MacAddress src{0x02, 0, 0, 0, 0, 0x01};
    MacAddress dst{0x02, 0, 0, 0, 0, 0x02};
    std::vector<VlanTag> vlan_tags;
    std::size_t pad_to = 0;  // pad the frame with `pad_byte` up to this size (60 = the
                             // Ethernet minimum without FCS); 0 = no padding
    std::uint8_t pad_byte = 0;
    Bytes trailer;  // appended after any padding (e.g. a fake FCS)
};

// Ethernet II frame: dst, src, tags, `type`, payload, padding, trailer.
Bytes ethernet_frame(const EthernetFields& fields, std::uint16_t type, ByteView payload);

namespace ip_protocol {
inline constexpr std::uint8_t tcp = 6;
inline constexpr std::uint8_t udp = 17;
}  // namespace ip_protocol

struct Ipv4Fields {
    std::uint16_t id = 0;
    bool dont_fragment = true;
    bool more_fragments = false;
    std::uint16_t fragment_offset = 0;  // in bytes; must be a multiple of 8
    std::uint8_t ttl = 64;
    std::uint8_t tos = 0;
    Bytes options;                  // padded with EOL (0) to a multiple of 4, max 40
    bool corrupt_checksum = false;  // store the correct checksum XOR 0x5a5a
};

// IPv4 header (checksum computed) followed by `payload`.
Bytes ipv4_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                  ByteView payload, const Ipv4Fields& fields = {});

// Splits `payload` (a whole transport segment) into IPv4 fragments carrying
// `fragment_size` bytes each (rounded down to a multiple of 8; the last carries the rest).
// `fields.id` is shared by all; DF is cleared. Returned in offset order.
std::vector<Bytes> ipv4_fragments(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                  ByteView payload, std::size_t fragment_size,
                                  Ipv4Fields fields = {});

struct Ipv6Fields {
    std::uint8_t hop_limit = 64;
    std::uint8_t traffic_class = 0;
    std::uint32_t flow_label = 0;  // 20 bits
};

// IPv6 header (no extension headers) followed by `payload`.
Bytes ipv6_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t next_header,
                  ByteView payload, const Ipv6Fields& fields = {});

// One IPv6 extension header: `type` is its protocol number (0 hop-by-hop, 43 routing,
// 60 destination options, ...). `body` is what follows its next-header and length bytes;
// it is padded with zeros (Pad1 options) to make the header a multiple of 8 bytes.
struct Ipv6ExtensionHeader {
    std::uint8_t type = 0;
    Bytes body;
};

namespace ipv6_ext {
inline constexpr std::uint8_t hop_by_hop = 0;
inline constexpr std::uint8_t routing = 43;
inline constexpr std::uint8_t fragment = 44;
inline constexpr std::uint8_t destination_options = 60;
}  // namespace ipv6_ext

// The encoded chain: each header's next-header byte names the following one, the last
// names `protocol`.
Bytes encode_ipv6_extensions(const std::vector<Ipv6ExtensionHeader>& extensions,
                             std::uint8_t protocol);

// IPv6 header, the extension headers in order, then `payload` (of protocol `protocol`).
Bytes ipv6_packet_with_extensions(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                  const std::vector<Ipv6ExtensionHeader>& extensions,
                                  ByteView payload, const Ipv6Fields& fields = {});

// Splits `payload` (a whole transport segment) into IPv6 fragments of `fragment_size`
// bytes each (rounded down to a multiple of 8; the last carries the rest). Each fragment is
// the IPv6 header, `unfragmentable` extension headers, a fragment header (identification
// `id`) and its piece. Returned in offset order.
std::vector<Bytes> ipv6_fragments(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                  ByteView payload, std::size_t fragment_size, std::uint32_t id,
                                  const Ipv6Fields& fields = {},
                                  const std::vector<Ipv6ExtensionHeader>& unfragmentable = {});

// One IPv6 fragment with an arbitrary offset (bytes, multiple of 8) and M flag, for tests
// that overlap or duplicate fragments on purpose.
Bytes ipv6_fragment(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                    ByteView piece, std::size_t offset, bool more, std::uint32_t id,
                    const Ipv6Fields& fields = {},
                    const std::vector<Ipv6ExtensionHeader>& unfragmentable = {});

// ipv4_packet or ipv6_packet by the family of `src` (both must be of the same family).
Bytes ip_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol, ByteView payload,
                const Ipv4Fields& v4 = {}, const Ipv6Fields& v6 = {});

namespace tcp_flags {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t urg = 0x20;
inline constexpr std::uint8_t ece = 0x40;
inline constexpr std::uint8_t cwr = 0x80;
}  // namespace tcp_flags

struct TcpTimestamps {
    std::uint32_t value = 0;       // TSval
    std::uint32_t echo_reply = 0;  // TSecr
};

struct SackBlock {
    std::uint32_t left = 0;   // first sequence number of the block
    std::uint32_t right = 0;  // sequence number after the block
};

// TCP options, encoded in the order Linux uses: MSS, SACK-permitted + timestamps (NOPs
// where needed), window scale, SACK blocks, then `raw` verbatim; padded with EOL to a
// multiple of 4. More than 40 bytes throws std::length_error.
struct TcpOptions {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> window_scale;
    bool sack_permitted = false;
    std::optional<TcpTimestamps> timestamps;
    std::vector<SackBlock> sack_blocks;
    Bytes raw;
};

Bytes encode_tcp_options(const TcpOptions& options);

enum class TcpChecksum {
    correct,
    corrupt,             // the correct value XOR 0xa5a5: always wrong
    zero,                // 0x0000
    pseudo_header_only,  // what checksum offload leaves in a sender-side capture: the
                         // folded pseudo-header sum, not complemented
};

struct TcpFields {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = tcp_flags::ack;
    std::uint16_t window = 65535;  // the raw header field (not scaled)
    std::uint16_t urgent_pointer = 0;
    TcpOptions options;
    TcpChecksum checksum = TcpChecksum::correct;
};

// TCP header + payload; the checksum covers the pseudo-header of src/dst (v4 or v6).
Bytes tcp_segment(const IpAddress& src, const IpAddress& dst, const TcpFields& fields,
                  ByteView payload);

enum class LinkKind {
    ethernet,    // Ethernet II, capture linktype::ethernet
    raw_ip,      // bare IP packet, capture linktype::raw
    linux_sll,   // Linux cooked v1, capture linktype::linux_sll
    linux_sll2,  // Linux cooked v2, capture linktype::linux_sll2
    bsd_null,    // DLT_NULL as macOS lo0 writes it: AF in little-endian (2, or 30 for IPv6)
    bsd_loop,    // DLT_LOOP as OpenBSD writes it: AF in network order (2, or 24 for IPv6)
};

std::uint32_t linktype_for(LinkKind kind);

// Linux cooked capture headers. `packet_type`: 0 to us, 1 broadcast, 2 multicast, 3 to
// another host, 4 sent by us. `address` is the link-layer source address (6 bytes used).
struct CookedFields {
    std::uint16_t packet_type = 0;
    std::uint16_t arphrd_type = 1;  // ARPHRD_ETHER
    MacAddress address{0x02, 0, 0, 0, 0, 0x01};
    std::uint32_t interface_index = 1;  // SLL2 only
};
// SLL: packet type, ARPHRD, address length, 8 address bytes, protocol; then `ip_packet`.
Bytes linux_sll_frame(const CookedFields& fields, ByteView ip_packet);
// SLL2: protocol, reserved, interface index, ARPHRD, packet type, address length, 8
// address bytes; then `ip_packet`.
Bytes linux_sll2_frame(const CookedFields& fields, ByteView ip_packet);
// DLT_NULL / DLT_LOOP: the 4-byte address family (`network_order` for LOOP, else
// little-endian), then `ip_packet`.
Bytes bsd_loopback_frame(std::uint32_t address_family, bool network_order, ByteView ip_packet);

// Wraps an IP packet in the link layer: for raw_ip the packet itself, for Ethernet a frame
// whose ethertype follows the IP version nibble. The cooked kinds take their address from
// `ethernet.src` and use packet type 0 (to us); the BSD loopback kinds pick the address
// family from the IP version nibble.
Bytes link_frame(LinkKind kind, const EthernetFields& ethernet, ByteView ip_packet);

// ===================================================================================
// TCP conversations
// ===================================================================================

// Capture time shared by whoever holds it: each packet is stamped with `next()`, which
// returns the current time and then moves it on by `step_us`. Conversations that share
// one clock interleave with increasing timestamps in the order they write.
class PacketClock {
public:
    explicit PacketClock(std::uint64_t start_us = 1'700'000'000'000'000,
                         std::uint64_t step_us = 100)
        : now_us_(start_us), step_us_(step_us) {}

    std::uint64_t now() const { return now_us_; }
    std::uint64_t next() {
        const std::uint64_t t = now_us_;
        now_us_ += step_us_;
        return t;
    }
    void advance(std::uint64_t us) { now_us_ += us; }
    void set_step(std::uint64_t step_us) { step_us_ = step_us; }

private:
    std::uint64_t now_us_;
    std::uint64_t step_us_;
};

struct Endpoint {
    std::string ip;  // IPv4 or IPv6 text
    std::uint16_t port = 0;
};

struct ConversationConfig {
    Endpoint client;  // the connection's opener (sends the SYN)
    Endpoint server;
    std::uint32_t client_isn = 1'000'000;  // stream offset 0 is ISN+1 (mod 2^32)
    std::uint32_t server_isn = 3'000'000'000u;

    // Timestamps: a shared clock if given, else a private one from start/step.
    std::shared_ptr<PacketClock> clock;
    std::uint64_t start_ts_us = 1'700'000'000'000'000;
    std::uint64_t ts_step_us = 100;

    // Link layer and the writer interface it is written to (linktypes must agree).
    LinkKind link = LinkKind::ethernet;
    std::uint32_t interface = 0;
    MacAddress client_mac{0x02, 0, 0, 0, 0, 0x01};
    MacAddress server_mac{0x02, 0, 0, 0, 0, 0x02};
    std::vector<VlanTag> vlan_tags;  // same tags both ways
    std::size_t pad_to = 0;          // Ethernet padding, see EthernetFields
    std::uint8_t pad_byte = 0;
    Bytes trailer;

    std::uint8_t ttl = 64;                  // IPv4 TTL / IPv6 hop limit
    Bytes ipv4_options;                     // IPv4 options on every packet (see Ipv4Fields)
    std::vector<Ipv6ExtensionHeader> ipv6_extensions;  // before TCP on every IPv6 packet
    // TCP checksum of every packet each side sends on the normal path, e.g.
    // pseudo_header_only for the side whose host captured with checksum offload.
    TcpChecksum client_checksum = TcpChecksum::correct;
    TcpChecksum server_checksum = TcpChecksum::correct;
    std::uint32_t receive_window = 262144;  // bytes; the header field is scaled down by the
                                            // negotiated window scale and capped at 65535
    // After how many data segments the peer sends a pure ACK (0 = never). With N > 1 the
    // last segment of every send is acknowledged too.
    unsigned ack_every = 1;
};

// MSS 1460, SACK permitted, timestamps, window scale 7 — a Linux-like SYN.
TcpOptions default_syn_options();

struct HandshakeOptions {
    TcpOptions client_syn = default_syn_options();
    TcpOptions server_syn_ack = default_syn_options();
    bool final_ack = true;  // send the client's third ACK
    // Data carried by the client's SYN (TCP Fast Open; add the cookie option to
    // client_syn.raw yourself). It is the first bytes of requests(); the SYN-ACK acks it.
    Bytes syn_payload;
};

// Overrides for one segment built by TcpConversation::segment().
struct SegmentExtras {
    std::optional<std::uint32_t> ack;     // default: what the sender has received
    std::optional<std::uint16_t> window;  // default: from receive_window
    std::optional<TcpOptions> options;    // default: timestamps if negotiated
    TcpChecksum checksum = TcpChecksum::correct;
};

// One TCP connection written to a CaptureWriter (which must outlive it).
//
// The "normal path" (handshake, *_send, *_fin, *_rst, *_ack) writes packets and keeps
// sequence numbers, ACKs, TCP timestamps and IP IDs consistent; `requests()` and
// `responses()` are exactly the payload bytes it put into data segments, in stream order.
// `segment()` + `write()` let a test write anything else; they never change the stream
// state (only the IP ID counters move), so the normal path continues as if they had not
// happened.
class TcpConversation {
public:
    TcpConversation(CaptureWriter& writer, ConversationConfig config);

    // SYN, SYN-ACK and (optionally) ACK. Window scale and timestamps are in use afterwards
    // when both SYNs carried them; the TSval/TSecr values in `opts` are replaced by the
    // conversation's own.
    void handshake(const HandshakeOptions& opts = {});

    // Sends `payload` in segments of at most `mss` bytes (ACK, PSH on the last), each
    // followed by the peer's ACK per `ack_every`.
    void client_send(ByteView payload, std::size_t mss = 1460);
    void server_send(ByteView payload, std::size_t mss = 1460);

    // FIN|ACK from that side, acknowledged by the peer unless ack_every is 0.
    void client_fin();
    void server_fin();
    // RST|ACK from that side; the peer does not answer.
    void client_rst();
    void server_rst();
    // A pure ACK from that side.
    void client_ack();
    void server_ack();

    // Builds (does not write) a segment from one side at stream offset `seq_offset`
    // (sequence number = ISN + 1 + seq_offset, mod 2^32; -1 is the ISN itself).
    // The ACK field is filled only when `flags` has ACK.
    Bytes segment(bool from_client, std::int64_t seq_offset, ByteView payload,
                  std::uint8_t flags = tcp_flags::ack | tcp_flags::psh,
                  const SegmentExtras& extras = {});

    // The TCP header + payload that segment() would put in its IP packet (no IP, no link
    // layer, no IP ID used): for tests that fragment or mangle segments themselves.
    Bytes tcp_bytes(bool from_client, std::int64_t seq_offset, ByteView payload,
                    std::uint8_t flags = tcp_flags::ack | tcp_flags::psh,
                    const SegmentExtras& extras = {});

    // Wraps an IP packet (or fragment) sent by that side in this conversation's link layer.
    Bytes link_frame_from(bool from_client, ByteView ip_packet) const;

    // The next IPv4 identification that side would use (and reserves it).
    std::uint16_t take_ip_id(bool from_client) { return side(from_client).ip_id++; }

    // Writes a frame built by segment() (or anything else) at the next clock tick, on
    // this conversation's interface. `orig_len` as in CaptureWriter::write.
    void write(ByteView frame, std::uint32_t orig_len = 0);

    // Appends `payload` to that side's stream as if sent on the normal path: use it after
    // writing those bytes yourself with segment()/write(), so that the normal path (its
    // sequence and ACK numbers, and requests()/responses()) continues after them.
    void mark_sent(bool from_client, ByteView payload);

    // Payload bytes sent on the normal path so far, per direction.
    const Bytes& requests() const { return client_.sent; }
    const Bytes& responses() const { return server_.sent; }

    // Stream offset of the next byte each side would send.
    std::uint64_t client_offset() const { return client_.sent.size(); }
    std::uint64_t server_offset() const { return server_.sent.size(); }

    const IpAddress& client_ip() const { return client_.ip; }
    const IpAddress& server_ip() const { return server_.ip; }
    std::uint16_t client_port() const { return client_.port; }
    std::uint16_t server_port() const { return server_.port; }

    // Timestamp of the first packet this conversation wrote (0 before any).
    std::uint64_t first_packet_us() const { return first_packet_us_.value_or(0); }
    PacketClock& clock() { return *clock_; }

private:
    struct Side {
        IpAddress ip;
        std::uint16_t port = 0;
        MacAddress mac{};
        std::uint32_t isn = 0;
        Bytes sent;  // payload sent on the normal path
        bool fin_sent = false;
        std::uint16_t ip_id = 0;
        std::uint32_t ts_base = 0;  // TSval = ts_base + clock in ms
        std::uint32_t last_peer_tsval = 0;
        std::uint8_t window_shift = 0;  // scale applied to the windows this side announces
    };

    Side& side(bool client) { return client ? client_ : server_; }
    void send(bool from_client, ByteView payload, std::size_t mss);
    void send_ack_after(bool data_from_client, std::size_t segment_index, bool last);
    void send_control(bool from_client, std::uint8_t flags);
    void emit(bool from_client, std::int64_t seq_offset, ByteView payload, std::uint8_t flags,
              const SegmentExtras& extras = {});
    static std::int64_t next_seq_offset(const Side& s);
    static std::uint32_t next_expected_from(const Side& peer);
    std::uint16_t window_field(const Side& from, std::uint8_t flags) const;
    TcpOptions default_segment_options(bool from_client) const;
    std::uint32_t tsval(const Side& s) const;
    Bytes frame(const Side& from, const Side& to, ByteView ip_packet) const;

    CaptureWriter& writer_;
    ConversationConfig config_;
    std::shared_ptr<PacketClock> clock_;
    Side client_;
    Side server_;
    bool timestamps_on_ = false;
    std::optional<std::uint64_t> first_packet_us_;
};

}  // namespace sth_test
