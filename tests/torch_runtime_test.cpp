// runtime.hpp's per-thread thread count: a background lane (the studio's
// previews) runs on one thread while the rest of the process keeps its own.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <thread>

#include "atelier/runtime.hpp"

namespace atelier {
namespace {

TEST(Runtime, OneThreadHereLeavesOtherThreadsTheirs) {
  configure_runtime(2);
  int lane = 0, after_lane = 0, fresh = 0;
  std::thread([&] {
    use_one_thread_here();
    lane = at::get_num_threads();
  }).join();
  after_lane = at::get_num_threads();
  std::thread([&] { fresh = at::get_num_threads(); }).join();  // a job's worker starting later
  EXPECT_EQ(lane, 1);
  EXPECT_EQ(after_lane, 2);
  EXPECT_EQ(fresh, 2);
}

}  // namespace
}  // namespace atelier
