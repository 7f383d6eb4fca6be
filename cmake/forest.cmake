# Helpers shared by every module's CMakeLists.txt.

set(FOREST_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wimplicit-fallthrough -Wmissing-declarations)
if(FOREST_WERROR)
  list(APPEND FOREST_WARNINGS -Werror)
endif()

# forest_module(NAME SOURCES ... DEPS ...): one library per module, target forest_NAME.
# Its DEPS list is the module's dependency rule, written in code.
function(forest_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(forest_${name} STATIC ${ARG_SOURCES})
  target_include_directories(forest_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(forest_${name} PRIVATE ${FOREST_WARNINGS})
  target_link_libraries(forest_${name} PUBLIC ${ARG_DEPS})
endfunction()

# forest_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest.
function(forest_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT FOREST_BUILD_TESTS OR FOREST_FUZZ)
    return()
  endif()
  find_package(GTest REQUIRED)
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${FOREST_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES LABELS "unit;${ARG_LABELS}")
endfunction()
