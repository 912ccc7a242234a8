# gantry_library(NAME SOURCES ... DEPS ... TESTS ...)
# A module library that the binary and the tests both link; TESTS are *_test.cc files beside it,
# built into one gtest binary per module and registered with ctest.
function(gantry_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;TESTS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  if(ARG_TESTS AND BUILD_TESTING)
    add_executable(${name}_test ${ARG_TESTS})
    target_link_libraries(${name}_test PRIVATE ${name} GTest::gtest GTest::gmock GTest::gtest_main)
    gtest_discover_tests(${name}_test DISCOVERY_TIMEOUT 60
      PROPERTIES ENVIRONMENT "GANTRY_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data")
  endif()
endfunction()
