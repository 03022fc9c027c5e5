# Control plane (plugins/control/http): unit test of its pure parts, end-to-end tests of
# the real binary with the plugin, and the live test (root, else SKIP).
if(TARGET sth_control_http)
  add_executable(control_http_test unit/control_http_test.cpp)
  target_link_libraries(control_http_test PRIVATE sth_control_http sth_build_flags
    Boost::unit_test_framework)
  target_compile_definitions(control_http_test PRIVATE BOOST_TEST_DYN_LINK)
  add_test(NAME unit.control_http_test COMMAND control_http_test)
  set_tests_properties(unit.control_http_test PROPERTIES LABELS unit TIMEOUT 120
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endif()

# End to end: the real binary with the plugin, on loopback (no root).
if(TARGET plugin_http)
  find_program(PROMTOOL_PROGRAM promtool)
  if(NOT PROMTOOL_PROGRAM)
    set(PROMTOOL_PROGRAM "")
    message(STATUS "promtool not found: e2e.control checks /metrics without it")
  endif()
  add_test(NAME e2e.control
    COMMAND ${PYTHON3_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/control/control_e2e.py
            $<TARGET_FILE:stethoscope> ${PROJECT_SOURCE_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/e2e/control/main ${PROMTOOL_PROGRAM})
  add_test(NAME e2e.control.slow_events
    COMMAND ${PYTHON3_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/control/slow_events_e2e.py
            $<TARGET_FILE:stethoscope> ${CMAKE_CURRENT_BINARY_DIR}/e2e/control/slow_events)
  set_tests_properties(e2e.control e2e.control.slow_events PROPERTIES LABELS e2e TIMEOUT 300)
  # Live: curl <-> nginx in network namespaces watched on /events; the token off loopback.
  add_test(NAME e2e.live.control
    COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/control/control_live_e2e.sh
            $<TARGET_FILE:stethoscope> ${CMAKE_CURRENT_BINARY_DIR}/e2e/live/control)
  set_tests_properties(e2e.live.control PROPERTIES LABELS "e2e;root" TIMEOUT 240
    SKIP_REGULAR_EXPRESSION "^SKIP: " ENVIRONMENT "PYTHON3=${PYTHON3_PROGRAM}")
endif()
