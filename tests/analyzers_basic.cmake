# The mtu, mss and rates analyzers: crafted captures with hand-computed values, read by
# the real binary (included from tests/CMakeLists.txt).
add_executable(gen_basic_analyzer_captures support/gen_basic_analyzer_captures.cpp)
target_link_libraries(gen_basic_analyzer_captures PRIVATE sth_capture_builder)

add_test(NAME e2e.analyzers.basic
  COMMAND ${PYTHON3_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/analyzers/basic_analyzers_e2e.py
          $<TARGET_FILE:stethoscope> $<TARGET_FILE:gen_basic_analyzer_captures>
          ${CMAKE_CURRENT_BINARY_DIR}/e2e/analyzers_basic)
set_tests_properties(e2e.analyzers.basic PROPERTIES LABELS e2e TIMEOUT 300)

# Real captures (curl <-> nginx in namespaces, root; else SKIP) with and without TSO/GSO on
# the sending host: oversized segments and largest packets equal tshark's.
if(TSHARK_PROGRAM)
  add_test(NAME e2e.analyzers.basic_offload
    COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/analyzers/basic_offload_e2e.sh
            $<TARGET_FILE:stethoscope> ${CMAKE_CURRENT_BINARY_DIR}/e2e/analyzers_basic_offload)
  set_tests_properties(e2e.analyzers.basic_offload PROPERTIES LABELS "e2e;root" TIMEOUT 240
    SKIP_REGULAR_EXPRESSION "^SKIP: " ENVIRONMENT "PYTHON3=${PYTHON3_PROGRAM}")
endif()
