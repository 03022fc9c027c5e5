// Registration of the pcap-file input plugin.
#include "pcap_file_input.hpp"

STETHOSCOPE_PLUGIN(stethoscope::pcap_file::PcapFileInput, "pcap-file", "0.1.0",
                   "reads packets from a pcap or pcapng file (libpcap), never drops")
