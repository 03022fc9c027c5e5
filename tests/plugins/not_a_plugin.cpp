// A shared object that is not a stethoscope plugin: it exports no descriptor symbol.
extern "C" __attribute__((visibility("default"))) int some_function(void) { return 42; }
