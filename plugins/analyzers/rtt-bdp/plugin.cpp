// Registration of the rtt-bdp analyzer plugin.
#include "rtt_bdp_analyzer.hpp"

STETHOSCOPE_PLUGIN(stethoscope::rtt_bdp::RttBdpAnalyzer, "rtt-bdp", "0.1.0",
                   "RTT (ACK and timestamp samples, handshake legs), goodput, BDP and what "
                   "limits each direction: receiver window, sender or network")
