// Registration of the mtu analyzer plugin.
#include "mtu_analyzer.hpp"

STETHOSCOPE_PLUGIN(stethoscope::mtu::MtuAnalyzer, "mtu", "0.1.0",
                   "largest IP packet and TCP payload per direction; ICMP fragmentation-needed "
                   "and packet-too-big errors matched to their session")
