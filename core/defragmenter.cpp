#include "defragmenter.hpp"

#include <algorithm>
#include <cstring>

namespace stethoscope::core {

namespace {
constexpr int k_dlt_raw = 12;
constexpr uint32_t k_max_datagram = 65535;
}  // namespace

struct Defragmenter::Datagram {
    Key key;
    std::vector<uint8_t> header;       // of the fragment at offset 0, once seen
    uint32_t next_header_at = 0;
    std::map<uint32_t, std::vector<uint8_t>> pieces;  // offset -> bytes, non-overlapping
    uint32_t total = 0;                // data length, known once the last fragment came
    bool have_last = false;
    int64_t first_ts = 0;
    uint64_t bytes = 0;
    Age::iterator age_pos;
};

size_t Defragmenter::KeyHash::operator()(const Key& k) const {
    uint64_t h = k.id * 0x9e3779b97f4a7c15ULL ^ k.version;
    for (size_t i = 0; i < 16; i += 8) {
        uint64_t a, b;
        std::memcpy(&a, k.src.data() + i, 8);
        std::memcpy(&b, k.dst.data() + i, 8);
        h = (h ^ a) * 0xff51afd7ed558ccdULL;
        h = (h ^ b) * 0xc4ceb9fe1a85ec53ULL;
    }
    return static_cast<size_t>(h ^ (h >> 33));
}

Defragmenter::Defragmenter(uint64_t memcap_bytes, int64_t timeout_ns)
    : memcap_(memcap_bytes), timeout_ns_(timeout_ns) {}

Defragmenter::~Defragmenter() = default;

void Defragmenter::drop(Datagram* d) {
    held_ -= d->bytes;
    age_.erase(d->age_pos);
    table_.erase(d->key);
}

bool Defragmenter::complete(const Datagram& d) const {
    if (!d.have_last || d.header.empty()) return false;
    uint32_t next = 0;
    for (const auto& [off, bytes] : d.pieces) {
        if (off > next) return false;
        next = std::max<uint32_t>(next, off + static_cast<uint32_t>(bytes.size()));
    }
    return next >= d.total;
}

void Defragmenter::rebuild(const Datagram& d, int64_t ts_ns, sth_packet& out) {
    const uint32_t hlen = static_cast<uint32_t>(d.header.size());
    out_.assign(d.header.begin(), d.header.end());
    out_.resize(hlen + d.total);
    for (const auto& [off, bytes] : d.pieces) {
        size_t n = std::min<size_t>(bytes.size(), d.total - off);
        std::memcpy(out_.data() + hlen + off, bytes.data(), n);
    }
    uint8_t* ip = out_.data();
    if (d.key.version == 4) {
        uint32_t total = hlen + d.total;
        ip[2] = static_cast<uint8_t>(total >> 8);
        ip[3] = static_cast<uint8_t>(total);
        ip[6] &= 0x40;  // keep DF, clear MF and the offset
        ip[7] = 0;
    } else {
        ip[d.next_header_at] = 6;  // the fragment header is gone: TCP follows directly
        uint32_t payload = hlen - 40 + d.total;
        ip[4] = static_cast<uint8_t>(payload >> 8);
        ip[5] = static_cast<uint8_t>(payload);
    }
    out = sth_packet{sizeof(sth_packet), k_dlt_raw, ts_ns, static_cast<uint32_t>(out_.size()),
                     static_cast<uint32_t>(out_.size()), out_.data(), 0};
}

bool Defragmenter::add(const DecodedPacket& p, int64_t ts_ns, sth_packet& out) {
    const FragmentInfo& f = p.fragment;
    ++stats_.fragments;
    if (f.offset + f.data_len > k_max_datagram) {
        ++stats_.invalid;
        return false;
    }
    Key key{f.ip_version, p.src, p.dst, f.id};
    auto it = table_.find(key);
    if (it == table_.end()) {
        auto d = std::make_unique<Datagram>();
        d->key = key;
        d->first_ts = ts_ns;
        age_.push_back(d.get());
        d->age_pos = std::prev(age_.end());
        it = table_.emplace(key, std::move(d)).first;
    }
    Datagram& d = *it->second;
    if (f.offset == 0 && d.header.empty()) {
        d.header.assign(f.header, f.header + f.header_len);
        d.next_header_at = f.next_header_at;
    }
    if (!f.more) {
        uint32_t end = f.offset + f.data_len;
        if (d.have_last && end != d.total) {
            ++stats_.invalid;  // two different ends: keep the first
        } else {
            d.have_last = true;
            d.total = end;
        }
    }
    // Insert the parts of [offset, offset+len) not yet covered (first-seen bytes win).
    uint32_t cur = f.offset, end = f.offset + f.data_len;
    bool overlapped = false;
    while (cur < end) {
        auto next = d.pieces.upper_bound(cur);
        if (next != d.pieces.begin()) {
            auto prev = std::prev(next);
            uint32_t prev_end = prev->first + static_cast<uint32_t>(prev->second.size());
            if (prev_end > cur) {
                overlapped = true;
                cur = std::min(prev_end, end);
                continue;
            }
        }
        uint32_t piece_end = next == d.pieces.end() ? end : std::min(end, next->first);
        if (piece_end < end) overlapped = true;
        const uint8_t* src = f.data + (cur - f.offset);
        d.pieces.emplace(cur, std::vector<uint8_t>(src, src + (piece_end - cur)));
        d.bytes += piece_end - cur;
        held_ += piece_end - cur;
        cur = piece_end;
    }
    if (overlapped) ++stats_.overlaps;
    if (complete(d)) {
        rebuild(d, ts_ns, out);
        ++stats_.datagrams_reassembled;
        drop(&d);
        return true;
    }
    while (held_ > memcap_ && !age_.empty()) {
        ++stats_.datagrams_evicted;
        drop(age_.front());
    }
    return false;
}

void Defragmenter::expire(int64_t now_ns) {
    while (!age_.empty() && age_.front()->first_ts + timeout_ns_ <= now_ns) {
        ++stats_.datagrams_timed_out;
        drop(age_.front());
    }
}

}  // namespace stethoscope::core
