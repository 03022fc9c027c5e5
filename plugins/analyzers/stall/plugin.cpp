// Registration of the stall analyzer plugin.
#include "stall_analyzer.hpp"

STETHOSCOPE_PLUGIN(stethoscope::stall::StallAnalyzer, "stall", "0.1.0",
                   "flow_stalled / flow_resumed when un-ACKed data sees no ACK progress or a "
                   "zero window persists")
