// Registration of the pcap-live input plugin.
#include "pcap_live_input.hpp"

STETHOSCOPE_PLUGIN(stethoscope::pcap_live::PcapLiveInput, "pcap-live", "0.1.0",
                   "captures packets live from an interface (libpcap)")
