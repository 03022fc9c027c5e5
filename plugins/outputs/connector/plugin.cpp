// Registration of the connector output (config section io.output.remote-host).
#include "connector_output.hpp"

STETHOSCOPE_PLUGIN(stethoscope::connector::ConnectorOutput, "connector", "0.1.0",
                   "replays each session's request and response streams to two TCP targets (shadowing)")
