// tcp_conversation.cpp — TcpConversation: one TCP connection on the normal path.
#include <algorithm>
#include <stdexcept>
#include <utility>

#include "capture_builder.hpp"

namespace sth_test {

namespace {

constexpr std::uint32_t k_client_ts_base = 100'000;
constexpr std::uint32_t k_server_ts_base = 7'000'000;
constexpr std::uint16_t k_client_ip_id = 0x1000;
constexpr std::uint16_t k_server_ip_id = 0x8000;

std::shared_ptr<PacketClock> clock_from(const ConversationConfig& config) {
    if (config.clock) {
        return config.clock;
    }
    return std::make_shared<PacketClock>(config.start_ts_us, config.ts_step_us);
}

}  // namespace

TcpOptions default_syn_options() {
    TcpOptions o;
    o.mss = 1460;
    o.sack_permitted = true;
    o.timestamps = TcpTimestamps{};
    o.window_scale = 7;
    return o;
}

TcpConversation::TcpConversation(CaptureWriter& writer, ConversationConfig config)
    : writer_(writer), config_(std::move(config)), clock_(clock_from(config_)) {
    const auto init = [](Side& s, const Endpoint& ep, const MacAddress& mac, std::uint32_t isn,
                         std::uint16_t ip_id, std::uint32_t ts_base) {
        s.ip = IpAddress::parse(ep.ip);
        s.port = ep.port;
        s.mac = mac;
        s.isn = isn;
        s.ip_id = ip_id;
        s.ts_base = ts_base;
    };
    init(client_, config_.client, config_.client_mac, config_.client_isn, k_client_ip_id,
         k_client_ts_base);
    init(server_, config_.server, config_.server_mac, config_.server_isn, k_server_ip_id,
         k_server_ts_base);
    if (client_.ip.is_v6() != server_.ip.is_v6()) {
        throw std::invalid_argument("TcpConversation: client and server IP versions differ");
    }
    if (writer_.linktype_of(config_.interface) != linktype_for(config_.link)) {
        throw std::logic_error("TcpConversation: link kind does not match the interface");
    }
}

// ---------------------------------------------------------------- normal path

void TcpConversation::handshake(const HandshakeOptions& opts) {
    SegmentExtras syn;
    syn.options = opts.client_syn;
    if (syn.options->timestamps) {
        syn.options->timestamps = TcpTimestamps{tsval(client_), 0};
    }
    emit(true, -1, opts.syn_payload, tcp_flags::syn, syn);
    mark_sent(true, opts.syn_payload);  // SYN data occupies ISN+1 on (TCP Fast Open)

    SegmentExtras syn_ack;
    syn_ack.options = opts.server_syn_ack;
    if (syn_ack.options->timestamps) {
        syn_ack.options->timestamps = TcpTimestamps{tsval(server_), server_.last_peer_tsval};
    }
    emit(false, -1, {}, tcp_flags::syn | tcp_flags::ack, syn_ack);

    timestamps_on_ = opts.client_syn.timestamps && opts.server_syn_ack.timestamps;
    if (opts.client_syn.window_scale && opts.server_syn_ack.window_scale) {
        client_.window_shift = std::min<std::uint8_t>(*opts.client_syn.window_scale, 14);
        server_.window_shift = std::min<std::uint8_t>(*opts.server_syn_ack.window_scale, 14);
    }
    if (opts.final_ack) {
        client_ack();
    }
}

void TcpConversation::client_send(ByteView payload, std::size_t mss) {
    send(true, payload, mss);
}
void TcpConversation::server_send(ByteView payload, std::size_t mss) {
    send(false, payload, mss);
}

void TcpConversation::client_fin() {
    send_control(true, tcp_flags::fin | tcp_flags::ack);
    client_.fin_sent = true;
    send_ack_after(true, 1, true);
}

void TcpConversation::server_fin() {
    send_control(false, tcp_flags::fin | tcp_flags::ack);
    server_.fin_sent = true;
    send_ack_after(false, 1, true);
}

void TcpConversation::client_rst() {
    send_control(true, tcp_flags::rst | tcp_flags::ack);
}
void TcpConversation::server_rst() {
    send_control(false, tcp_flags::rst | tcp_flags::ack);
}
void TcpConversation::client_ack() {
    send_control(true, tcp_flags::ack);
}
void TcpConversation::server_ack() {
    send_control(false, tcp_flags::ack);
}

void TcpConversation::mark_sent(bool from_client, ByteView payload) {
    Bytes& sent = side(from_client).sent;
    sent.insert(sent.end(), payload.begin(), payload.end());
}

void TcpConversation::send(bool from_client, ByteView payload, std::size_t mss) {
    if (mss == 0) {
        throw std::invalid_argument("TcpConversation: mss 0");
    }
    std::size_t count = 0;
    for (std::size_t offset = 0; offset < payload.size();) {
        const std::size_t n = std::min(mss, payload.size() - offset);
        const bool last = offset + n == payload.size();
        const ByteView chunk = payload.subspan(offset, n);
        const std::uint8_t flags = last ? tcp_flags::ack | tcp_flags::psh : tcp_flags::ack;
        emit(from_client, next_seq_offset(side(from_client)), chunk, flags);
        mark_sent(from_client, chunk);
        send_ack_after(from_client, ++count, last);
        offset += n;
    }
}

void TcpConversation::send_ack_after(bool data_from_client, std::size_t segment_index, bool last) {
    const unsigned every = config_.ack_every;
    if (every == 0 || (segment_index % every != 0 && !last)) {
        return;
    }
    send_control(!data_from_client, tcp_flags::ack);
}

void TcpConversation::send_control(bool from_client, std::uint8_t flags) {
    emit(from_client, next_seq_offset(side(from_client)), {}, flags);
}

void TcpConversation::emit(bool from_client, std::int64_t seq_offset, ByteView payload,
                           std::uint8_t flags, const SegmentExtras& extras) {
    SegmentExtras e = extras;
    if (e.checksum == TcpChecksum::correct) {
        e.checksum = from_client ? config_.client_checksum : config_.server_checksum;
    }
    if (!e.options) {
        e.options = default_segment_options(from_client);
    }
    const Bytes f = segment(from_client, seq_offset, payload, flags, e);
    if (e.options->timestamps) {
        side(!from_client).last_peer_tsval = e.options->timestamps->value;
    }
    write(f);
}

// ---------------------------------------------------------------- building and writing

Bytes TcpConversation::segment(bool from_client, std::int64_t seq_offset, ByteView payload,
                               std::uint8_t flags, const SegmentExtras& extras) {
    Side& from = side(from_client);
    const Side& to = side(!from_client);
    const Bytes tcp = tcp_bytes(from_client, seq_offset, payload, flags, extras);

    Ipv4Fields v4;
    v4.id = from.ip_id++;
    v4.ttl = config_.ttl;
    v4.options = config_.ipv4_options;
    Ipv6Fields v6;
    v6.hop_limit = config_.ttl;
    const Bytes ip = from.ip.is_v6()
                         ? ipv6_packet_with_extensions(from.ip, to.ip, ip_protocol::tcp,
                                                       config_.ipv6_extensions, tcp, v6)
                         : ipv4_packet(from.ip, to.ip, ip_protocol::tcp, tcp, v4);
    return frame(from, to, ip);
}

Bytes TcpConversation::tcp_bytes(bool from_client, std::int64_t seq_offset, ByteView payload,
                                 std::uint8_t flags, const SegmentExtras& extras) {
    Side& from = side(from_client);
    const Side& to = side(!from_client);
    TcpFields f;
    f.src_port = from.port;
    f.dst_port = to.port;
    f.seq = from.isn + 1 + static_cast<std::uint32_t>(seq_offset);  // mod 2^32
    f.ack = (flags & tcp_flags::ack) ? extras.ack.value_or(next_expected_from(to)) : 0;
    f.flags = flags;
    f.window = extras.window.value_or(window_field(from, flags));
    f.options = extras.options.value_or(default_segment_options(from_client));
    f.checksum = extras.checksum;
    return tcp_segment(from.ip, to.ip, f, payload);
}

Bytes TcpConversation::link_frame_from(bool from_client, ByteView ip_packet) const {
    return frame(from_client ? client_ : server_, from_client ? server_ : client_, ip_packet);
}

void TcpConversation::write(ByteView frame, std::uint32_t orig_len) {
    const std::uint64_t ts = clock_->next();
    if (!first_packet_us_) {
        first_packet_us_ = ts;
    }
    writer_.write(ts, frame, config_.interface, orig_len);
}

Bytes TcpConversation::frame(const Side& from, const Side& to, ByteView ip_packet) const {
    if (config_.link == LinkKind::linux_sll || config_.link == LinkKind::linux_sll2) {
        // As captured on the client's host: its own packets are outgoing.
        CookedFields cooked;
        cooked.packet_type = &from == &client_ ? 4 : 0;
        cooked.address = from.mac;
        return config_.link == LinkKind::linux_sll ? linux_sll_frame(cooked, ip_packet)
                                                   : linux_sll2_frame(cooked, ip_packet);
    }
    EthernetFields eth;
    eth.src = from.mac;
    eth.dst = to.mac;
    eth.vlan_tags = config_.vlan_tags;
    eth.pad_to = config_.pad_to;
    eth.pad_byte = config_.pad_byte;
    eth.trailer = config_.trailer;
    return link_frame(config_.link, eth, ip_packet);
}

// ---------------------------------------------------------------- sequence state

std::int64_t TcpConversation::next_seq_offset(const Side& s) {
    return static_cast<std::int64_t>(s.sent.size()) + (s.fin_sent ? 1 : 0);
}

std::uint32_t TcpConversation::next_expected_from(const Side& peer) {
    return peer.isn + 1 + static_cast<std::uint32_t>(next_seq_offset(peer));
}

std::uint16_t TcpConversation::window_field(const Side& from, std::uint8_t flags) const {
    const std::uint32_t shift = (flags & tcp_flags::syn) ? 0 : from.window_shift;
    return static_cast<std::uint16_t>(
        std::min<std::uint32_t>(config_.receive_window >> shift, 65535));
}

TcpOptions TcpConversation::default_segment_options(bool from_client) const {
    TcpOptions o;
    if (timestamps_on_) {
        const Side& from = from_client ? client_ : server_;
        o.timestamps = TcpTimestamps{tsval(from), from.last_peer_tsval};
    }
    return o;
}

std::uint32_t TcpConversation::tsval(const Side& s) const {
    return s.ts_base + static_cast<std::uint32_t>(clock_->now() / 1000);
}

}  // namespace sth_test
