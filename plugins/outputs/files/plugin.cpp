// Registration of the files output plugin.
#include "files_output.hpp"

STETHOSCOPE_PLUGIN(stethoscope::files::FilesOutput, "files", "0.1.0",
                   "writes each session's request and response streams to files (tcpflow-like)")
