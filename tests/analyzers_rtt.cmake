# rtt-bdp and stall analyzers: crafted captures with hand-computed values, and real
# curl <-> nginx captures (clean and lossy) checked against tshark's ack_rtt/initial_rtt.
add_executable(gen_rtt_captures support/gen_rtt_captures.cpp)
target_link_libraries(gen_rtt_captures PRIVATE sth_capture_builder)


add_test(NAME e2e.analyzers.rtt
  COMMAND ${PYTHON3_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/analyzers/rtt_e2e.py
          $<TARGET_FILE:stethoscope> $<TARGET_FILE:gen_rtt_captures>
          ${CMAKE_CURRENT_BINARY_DIR}/e2e/analyzers_rtt)
set_tests_properties(e2e.analyzers.rtt PROPERTIES LABELS e2e TIMEOUT 300
  ENVIRONMENT "TSHARK=${TSHARK_PROGRAM}")

add_test(NAME e2e.analyzers.rtt_tshark_live
  COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/analyzers/rtt_tshark_live.sh
          $<TARGET_FILE:stethoscope> ${PROJECT_SOURCE_DIR}
          ${CMAKE_CURRENT_BINARY_DIR}/e2e/analyzers_rtt_live)
set_tests_properties(e2e.analyzers.rtt_tshark_live PROPERTIES LABELS "e2e;root" TIMEOUT 400
  SKIP_REGULAR_EXPRESSION "^SKIP: " ENVIRONMENT "PYTHON3=${PYTHON3_PROGRAM}")
