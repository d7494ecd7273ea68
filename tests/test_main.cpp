// The test binaries' main: GoogleTest's, except that a run in which every
// test skipped (no ../shared, a missing tool) exits 77, which ctest shows as
// skipped; ctest runs one suite per process (cmake/gtest_suites.cmake).
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  const auto& run = *::testing::UnitTest::GetInstance();
  if (failed == 0 && run.successful_test_count() == 0 && run.skipped_test_count() > 0) return 77;
  return failed;
}
