// --precision auto (issue 16): bf16 only where it is faster. The rule is a
// pure function of a CPU's flags, so it is tested on made-up CPUs; the
// machine's own choice is only checked to follow that rule, whatever CPU
// runs the test.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "atelier/error.hpp"
#include "atelier/runtime.hpp"

namespace atelier {
namespace {

TEST(AutoPrecision, Bf16OnlyWithAmx) {
  EXPECT_TRUE(cpu_prefers_bf16("flags\t\t: fpu vme avx512f avx512_bf16 amx_bf16 amx_tile amx_int8"));
  EXPECT_TRUE(cpu_prefers_bf16("amx_bf16"));
  // AVX512-BF16 alone computes bf16 slower than fp32 (docs/BENCHMARKS.md).
  EXPECT_FALSE(cpu_prefers_bf16("flags\t\t: fpu vme avx512f avx512_bf16 avx512_vnni"));
  EXPECT_FALSE(cpu_prefers_bf16("flags\t\t: fpu vme sse2 avx2"));
  EXPECT_FALSE(cpu_prefers_bf16("flags : amx_bf16x amx_tile"));  // whole words only
  EXPECT_FALSE(cpu_prefers_bf16(""));
}

// OpenBLAS's kernels: only a fallback to old ones is replaced, and only by a
// core the CPU's flags allow (a core it lacks would end in SIGILL).
TEST(BlasKernels, OnlyOldCoresAreReplacedAndOnlyByWhatTheCpuHas) {
  const std::string avx512 = "flags\t\t: fpu sse3 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl";
  EXPECT_EQ(better_blas_core_for("Prescott", avx512), "SkylakeX");
  EXPECT_EQ(better_blas_core_for("Sandybridge", avx512), "SkylakeX");
  EXPECT_EQ(better_blas_core_for("Prescott", "flags : sse3 avx avx2 fma"), "Haswell");
  EXPECT_EQ(better_blas_core_for("Prescott", "flags : sse3 avx avx2 fma avx512f"), "Haswell") << "AVX-512 in part";
  EXPECT_EQ(better_blas_core_for("Prescott", "flags : sse3 avx"), "") << "nothing better to ask for";
  EXPECT_EQ(better_blas_core_for("Cooperlake", avx512), "") << "OpenBLAS chose well";
  EXPECT_EQ(better_blas_core_for("Haswell", avx512), "");
  EXPECT_EQ(better_blas_core_for("Zen", avx512), "");
  EXPECT_EQ(better_blas_core_for("Prescott", "flags : avx2x fmax"), "") << "whole words only";
}

TEST(AutoPrecision, ThisMachineFollowsTheRule) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && line.rfind("flags", 0) != 0) {
  }
  const PrecisionChoice choice = auto_precision("cpu");
  EXPECT_EQ(choice.precision, cpu_prefers_bf16(line) ? Precision::BF16 : Precision::F32) << choice.reason;
  EXPECT_FALSE(choice.reason.empty());
  EXPECT_EQ(parse_precision("auto"), choice.precision);
  EXPECT_EQ(parse_precision("fp32"), Precision::F32);
  EXPECT_EQ(parse_precision("bf16"), Precision::BF16);
  EXPECT_THROW(parse_precision("fp16"), Error);
  EXPECT_THROW(parse_precision("auto", "tpu"), Error);
}

}  // namespace
}  // namespace atelier
