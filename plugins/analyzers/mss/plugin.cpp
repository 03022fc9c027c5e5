// Registration of the mss analyzer plugin.
#include "mss_analyzer.hpp"

STETHOSCOPE_PLUGIN(stethoscope::mss::MssAnalyzer, "mss", "0.1.0",
                   "MSS offered by each SYN, segments larger than the peer's MSS (offload "
                   "seen in the capture), largest payload per direction")
