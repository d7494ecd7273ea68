# Run by ctest (a TEST_INCLUDE_FILES script): one test per GoogleTest suite
# of ${binary}, not one per test, because every process pays about half a
# second loading libtorch; a suite's tests share that cost.
# A suite counts as skipped when every one of its tests skipped (no shared
# data, a missing tool): tests/test_main.cpp then exits 77.
if(NOT EXISTS "${binary}")
  add_test("${binary_name}.NotBuilt" "${binary}")
  return()
endif()
execute_process(COMMAND "${binary}" --gtest_list_tests
  OUTPUT_VARIABLE listing RESULT_VARIABLE listed TIMEOUT 60)
if(NOT listed EQUAL 0)
  add_test("${binary_name}.CannotListItsTests" "${binary}" --gtest_list_tests)
  return()
endif()
string(REPLACE "\n" ";" lines "${listing}")
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z0-9_/]+)\\.")
    set(suite "${CMAKE_MATCH_1}")
    add_test("${suite}" "${binary}" "--gtest_filter=${suite}.*")
    set_tests_properties("${suite}" PROPERTIES TIMEOUT 600 ENVIRONMENT "${environment}"
      SKIP_RETURN_CODE 77)
  endif()
endforeach()
