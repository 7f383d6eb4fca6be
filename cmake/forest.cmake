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

# forest_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest,
# one CTest test per case, labelled `unit` unless LABELS says otherwise (e.g. `etcd`
# for tests that start a real etcd).
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
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  # gtest_discover_tests passes PROPERTIES through a script that splits a
  # list value into separate arguments (only the first label would stick):
  # the labels are set by a script of our own, run after the discovered
  # tests are added, on the list of their names.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 NO_PRETTY_VALUES
    TEST_LIST ${name}_TESTS)
  set(labels_script ${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake)
  file(WRITE ${labels_script}
    "if(${name}_TESTS)\n"
    "  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"${ARG_LABELS}\")\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_script})
endfunction()
