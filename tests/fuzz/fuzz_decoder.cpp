// fuzz_decoder: decode_packet on hostile frames of every supported link type.
//
// Input: [link selector][snaplen selector][frame bytes...]
//   link selector    byte % 11 picks the link type from k_linktypes below (make_corpus.sh
//                    writes the index of the capture's link type);
//   snaplen selector 0: caplen == len; n > 0: the frame was cut by the snaplen,
//                    len = caplen + n * 7 (so the decoder's "cut by snaplen" paths run).
// The frame is copied into a buffer of exactly caplen bytes, so ASan reports any read
// past the capture. For `ok` the payload, for `ip_fragment` the fragment's header and
// data, must lie inside the capture, and are read in full.
#include "decoder.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace {

using stethoscope::core::decode_packet;
using stethoscope::core::decode_status_name;
using stethoscope::core::DecodedPacket;
using stethoscope::core::DecodeStatus;
using stethoscope::core::FragmentInfo;

// DLT_NULL, EN10MB, RAW, LINKTYPE_RAW, LOOP, LINUX_SLL, LINUX_SLL2, IPV4, IPV6, then
// DLT_RAW as OpenBSD numbers it and one unsupported type (USER0).
constexpr int32_t k_linktypes[] = {0, 1, 12, 101, 108, 113, 276, 228, 229, 14, 147};
constexpr size_t k_linktype_count = sizeof(k_linktypes) / sizeof(k_linktypes[0]);

[[noreturn]] void violation(const char* what, const DecodedPacket& p, uint32_t caplen) {
    std::fprintf(stderr,
                 "fuzz_decoder: invariant violated: %s (caplen %u, payload_len %u, "
                 "payload_captured %u, ip_total_len %u)\n",
                 what, caplen, p.payload_len, p.payload_captured, p.ip_total_len);
    std::abort();
}

// [at, at + size) lies inside [frame, frame + caplen); addresses compared as integers.
bool inside(const uint8_t* at, uint32_t size, const uint8_t* frame, uint32_t caplen) {
    auto begin = reinterpret_cast<uintptr_t>(frame);
    auto p = reinterpret_cast<uintptr_t>(at);
    return at != nullptr && p >= begin && p - begin <= caplen && size <= caplen - (p - begin);
}

// Reads every byte: ASan catches a range that runs past the buffer.
void touch(const uint8_t* at, uint32_t size) {
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < size; ++i)
        sink = sink ^ at[i];
    (void)sink;
}

void check_ok(const DecodedPacket& p, const uint8_t* frame, uint32_t caplen) {
    if (p.ip_version != 4 && p.ip_version != 6)
        violation("ip_version is not 4 or 6", p, caplen);
    if (p.payload_captured > p.payload_len)
        violation("payload_captured > payload_len", p, caplen);
    if (p.payload_len > p.ip_total_len)
        violation("payload_len > ip_total_len", p, caplen);
    if (p.payload_captured == 0)
        return;
    if (!inside(p.payload, p.payload_captured, frame, caplen))
        violation("payload outside the capture", p, caplen);
    touch(p.payload, p.payload_captured);
}

// A fragment is handed to the Defragmenter whole: header and data must be captured.
void check_fragment(const DecodedPacket& p, const uint8_t* frame, uint32_t caplen) {
    const FragmentInfo& f = p.fragment;
    if (f.ip_version != 4 && f.ip_version != 6)
        violation("fragment ip_version", p, caplen);
    if (!inside(f.header, f.header_len, frame, caplen))
        violation("fragment header outside the capture", p, caplen);
    if (f.ip_version == 6 && f.next_header_at >= f.header_len)
        violation("fragment next_header_at outside the header", p, caplen);
    if (f.data_len > 0 && !inside(f.data, f.data_len, frame, caplen))
        violation("fragment data outside the capture", p, caplen);
    touch(f.header, f.header_len);
    touch(f.data, f.data_len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2)
        return 0;
    const int32_t linktype = k_linktypes[data[0] % k_linktype_count];
    const uint32_t cut = data[1];
    const auto caplen = static_cast<uint32_t>(size - 2);

    // Exactly caplen bytes (new[0] still gives a distinct pointer ASan guards).
    std::unique_ptr<uint8_t[]> frame(new uint8_t[caplen]);
    if (caplen > 0)
        std::memcpy(frame.get(), data + 2, caplen);

    sth_packet packet{};
    packet.struct_size = sizeof(sth_packet);
    packet.linktype = linktype;
    packet.ts_ns = 1'700'000'000'000'000'000;
    packet.caplen = caplen;
    packet.len = caplen + cut * 7;
    packet.data = frame.get();

    DecodedPacket out;
    const DecodeStatus status = decode_packet(packet, out);
    // Every status has a name (the engine counts and reports per status).
    if (decode_status_name(status) == nullptr)
        violation("status without a name", out, caplen);
    if (status == DecodeStatus::ok)
        check_ok(out, frame.get(), caplen);
    if (status == DecodeStatus::ip_fragment)
        check_fragment(out, frame.get(), caplen);
    return 0;
}
