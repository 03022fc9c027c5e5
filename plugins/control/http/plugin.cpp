// Registration of the http control plugin.
#include "http_control.hpp"

STETHOSCOPE_PLUGIN(stethoscope::control::HttpControl, "http", "0.1.0",
                   "control plane: HTTP/1.1 (events, sessions, stats, metrics, module switches) "
                   "and a raw JSON-lines session on one port")
