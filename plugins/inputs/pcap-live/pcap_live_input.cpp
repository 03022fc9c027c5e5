#include "pcap_live_input.hpp"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace stethoscope::pcap_live {

namespace {
struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};

std::string activation_error(int rc, pcap_t* p, const std::string& iface) {
    switch (rc) {
        case PCAP_ERROR_PERM_DENIED:
            return "no permission to capture on " + iface +
                   ": run as root, or grant CAP_NET_RAW and CAP_NET_ADMIN";
        case PCAP_ERROR_NO_SUCH_DEVICE: return "no such interface: " + iface;
        case PCAP_ERROR_IFACE_NOT_UP: return "interface " + iface + " is not up";
        default: return "cannot capture on " + iface + ": " + pcap_geterr(p);
    }
}

struct Loop {
    const Host* host;
    sth_packet pkt;
};

void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* data) {
    auto* loop = reinterpret_cast<Loop*>(user);
    loop->pkt.ts_ns = static_cast<int64_t>(h->ts.tv_sec) * 1000000000 + h->ts.tv_usec;
    loop->pkt.caplen = h->caplen;
    loop->pkt.len = h->len;
    loop->pkt.data = data;
    loop->host->submit_packet(loop->pkt, false);
}

// For handles that only give microseconds.
void on_packet_usec(u_char* user, const pcap_pkthdr* h, const u_char* data) {
    pcap_pkthdr ns = *h;
    ns.ts.tv_usec *= 1000;
    on_packet(user, &ns, data);
}
}  // namespace

PcapLiveInput::PcapLiveInput(const Host& host, Config config)
    : InputPlugin(host), config_(std::move(config)) {}

pcap_t* PcapLiveInput::open_handle() {
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* p = pcap_create(config_.interface.c_str(), errbuf);
    if (p == nullptr) throw std::runtime_error("cannot capture on " + config_.interface + ": " + errbuf);
    pcap_set_snaplen(p, config_.snaplen);
    pcap_set_promisc(p, config_.promiscuous ? 1 : 0);
    pcap_set_buffer_size(p, static_cast<int>(config_.buffer_bytes));
    pcap_set_immediate_mode(p, config_.immediate ? 1 : 0);
    pcap_set_timeout(p, config_.immediate ? 100 : config_.timeout_ms);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);  // falls back to micro
    int rc = pcap_activate(p);
    if (rc < 0) {
        std::string msg = activation_error(rc, p, config_.interface);
        pcap_close(p);
        throw std::runtime_error(msg);
    }
    return p;
}

void PcapLiveInput::apply_filter(pcap_t* p) {
    if (config_.bpf.empty()) return;
    bpf_program prog{};
    if (pcap_compile(p, &prog, config_.bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
        throw std::runtime_error("capture filter \"" + config_.bpf + "\" does not compile: " +
                                 pcap_geterr(p));
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) throw std::runtime_error(std::string("cannot set capture filter: ") + pcap_geterr(p));
}

void PcapLiveInput::report_stats(pcap_t* p) {
    pcap_stat st{};
    if (pcap_stats(p, &st) == 0) host_.report_capture_stats(st.ps_recv, st.ps_drop, st.ps_ifdrop);
}

void PcapLiveInput::drop_privileges() {
    if (config_.user.empty()) return;
    errno = 0;
    const passwd* pw = getpwnam(config_.user.c_str());
    if (pw == nullptr) throw std::runtime_error("capture.user: no such user: " + config_.user);
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        throw std::runtime_error("cannot drop privileges to " + config_.user + ": " +
                                 std::strerror(errno));
    host_.info("dropped privileges to user " + config_.user);
}

void PcapLiveInput::report_idle() {
    // A quiet link: let the engines' clocks move so sessions still time out.
    host_.idle(std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count());
}

void PcapLiveInput::check_interface_up() {
    // libpcap reports an interface that disappears, not one that is set down: look.
    if (config_.interface == "any") return;
    pcap_if_t* all = nullptr;
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    if (pcap_findalldevs(&all, errbuf) != 0) return;  // cannot tell: carry on
    bool up = false;
    for (pcap_if_t* d = all; d != nullptr; d = d->next)
        if (config_.interface == d->name) up = (d->flags & PCAP_IF_UP) != 0;
    pcap_freealldevs(all);
    if (!up) throw std::runtime_error("capture on " + config_.interface + " failed: the interface went down");
}

void PcapLiveInput::run() {
    std::unique_ptr<pcap_t, PcapCloser> p(open_handle());
    apply_filter(p.get());
    drop_privileges();
    Loop loop{&host_, sth_packet{}};
    loop.pkt.struct_size = sizeof(sth_packet);
    loop.pkt.linktype = pcap_datalink(p.get());
    const bool nano = pcap_get_tstamp_precision(p.get()) == PCAP_TSTAMP_PRECISION_NANO;
    host_.info("capturing on " + config_.interface +
               (config_.bpf.empty() ? std::string() : " with filter: " + config_.bpf));
    // Immediate mode ignores the read timeout on Linux, so wait with poll() on the
    // selectable descriptor and read without blocking: stop is noticed within 100 ms.
    const int fd = pcap_get_selectable_fd(p.get());
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    if (fd >= 0 && pcap_setnonblock(p.get(), 1, errbuf) != 0)
        throw std::runtime_error("cannot capture on " + config_.interface + ": " + errbuf);
    pcap_handler handler = nano ? &on_packet : &on_packet_usec;
    auto next_stats = std::chrono::steady_clock::now();
    while (!host_.stop_requested()) {
        if (std::chrono::steady_clock::now() >= next_stats) {  // for periodic capture_stats
            report_stats(p.get());
            check_interface_up();
            next_stats += std::chrono::seconds(1);
        }
        if (fd >= 0) {
            pollfd pfd{fd, POLLIN, 0};
            if (poll(&pfd, 1, 100) == 0) {
                report_idle();
                continue;
            }
        }
        int n = pcap_dispatch(p.get(), -1, handler, reinterpret_cast<u_char*>(&loop));
        if (n == 0) report_idle();
        if (n == PCAP_ERROR) {
            std::string err = pcap_geterr(p.get());
            report_stats(p.get());
            throw std::runtime_error("capture on " + config_.interface + " failed: " + err);
        }
        if (n == PCAP_ERROR_BREAK) break;
    }
    report_stats(p.get());
}

}  // namespace stethoscope::pcap_live
