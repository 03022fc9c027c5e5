// Registration of the listener output (io.output.listener).
#include "listener_output.hpp"

STETHOSCOPE_PLUGIN(stethoscope::listener::ListenerOutput, "listener", "0.1.0",
                   "serves each session's request and response streams to consumers that connect in")
