// Registration of the rates analyzer plugin.
#include "rates_analyzer.hpp"

STETHOSCOPE_PLUGIN(stethoscope::rates::RatesAnalyzer, "rates", "0.1.0",
                   "packets/s and bytes/s per direction, per session and over all sessions, "
                   "every interval_sec of capture time")
