/* load_pcap_stats_shim.c — LD_PRELOAD shim for run_load_benchmark.sh (Linux).
 *
 * With "log": {"events_stdout": false} (the benchmark's control-only config) stethoscope
 * prints no capture_stats event, and turning events on costs more than the engine itself
 * on short sessions. This shim wraps libpcap's pcap_stats() — the pcap-live input calls it
 * about once a second and once more when the capture stops — and writes the counters of
 * every call, the last one being the final ones, to $LOAD_PCAP_STATS_FILE:
 *
 *     received=N dropped_kernel=N dropped_interface=N
 *
 * (libpcap on Linux: received = tp_packets, which includes the kernel's drops.)
 *
 * When the process exits normally it also writes its CPU time and context switches
 * (getrusage RUSAGE_SELF: every thread, microseconds — /usr/bin/time prints only
 * hundredths) to $LOAD_RUSAGE_FILE:
 *
 *     user_us=N sys_us=N nvcsw=N nivcsw=N
 *
 * Build: cc -shared -fPIC -O2 -o load_pcap_stats.so load_pcap_stats_shim.c -lpcap -ldl
 * (linked with libpcap so that libpcap is in the global scope and RTLD_NEXT finds it: the
 * plugin that really uses it is dlopen'ed RTLD_LOCAL).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

typedef int (*pcap_stats_fn)(pcap_t*, struct pcap_stat*);

int pcap_stats(pcap_t* p, struct pcap_stat* ps) {
    static pcap_stats_fn real;
    if (real == NULL) real = (pcap_stats_fn)dlsym(RTLD_NEXT, "pcap_stats");
    if (real == NULL) {
        void* lib = dlopen("libpcap.so.0.8", RTLD_NOW | RTLD_NOLOAD);
        if (lib == NULL) lib = dlopen("libpcap.so.1", RTLD_NOW | RTLD_NOLOAD);
        if (lib != NULL) real = (pcap_stats_fn)dlsym(lib, "pcap_stats");
    }
    if (real == NULL) return -1;
    int rc = real(p, ps);
    const char* path = getenv("LOAD_PCAP_STATS_FILE");
    if (rc == 0 && path != NULL) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE* f = fopen(tmp, "w");
        if (f != NULL) {
            fprintf(f, "received=%u dropped_kernel=%u dropped_interface=%u\n", ps->ps_recv,
                    ps->ps_drop, ps->ps_ifdrop);
            if (fclose(f) == 0) rename(tmp, path);
        }
    }
    return rc;
}

__attribute__((destructor)) static void load_write_rusage(void) {
    const char* path = getenv("LOAD_RUSAGE_FILE");
    struct rusage ru;
    if (path == NULL || getrusage(RUSAGE_SELF, &ru) != 0) return;
    FILE* f = fopen(path, "w");
    if (f == NULL) return;
    fprintf(f, "user_us=%lld sys_us=%lld nvcsw=%ld nivcsw=%ld\n",
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_nvcsw,
            ru.ru_nivcsw);
    fclose(f);
}
