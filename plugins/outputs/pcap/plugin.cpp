// Registration of the pcap output plugin.
#include "pcap_output.hpp"

STETHOSCOPE_PLUGIN(stethoscope::pcap_output::PcapOutput, "pcap", "0.1.0",
                   "writes each session's packets to pcap or pcapng files (per session or one file)")
