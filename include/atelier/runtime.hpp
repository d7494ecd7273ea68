// How the library runs torch work, without torch in the header: the
// numeric precision of the heavy work and the process-wide set-up every
// command does once. Front ends (CLI, studio, Python) include this, not torch.
#pragma once
#include <exception>
#include <string>

namespace atelier {

// Numeric precision of the heavy work (convolutions, matrix products).
// BF16 runs them under autocast: oneDNN computes in bf16 with fp32
// accumulation, about twice as fast on CPUs with AMX-BF16 and on GPUs; on
// CPUs without AMX (AVX512-BF16 alone, or neither) it is slower than fp32.
enum class Precision { F32, BF16 };
// "fp32", "bf16", or "auto": the faster of the two on `device`
// (auto_precision). Throws atelier::Error for anything else.
Precision parse_precision(const std::string& name, const std::string& device = "cpu");
std::string precision_name(Precision precision);  // "fp32" | "bf16"

// What "auto" chooses, and why in a few words ("this CPU has AMX-BF16").
struct PrecisionChoice {
  Precision precision;
  std::string reason;
};
PrecisionChoice auto_precision(const std::string& device = "cpu");
// The flags line of /proc/cpuinfo ("" where there is none): what the rules
// below and cpu_prefers_bf16 read.
std::string cpu_flags();
// The rule for a CPU, from the flags line of its /proc/cpuinfo: bf16 with
// AMX-BF16 only. Measured (docs/BENCHMARKS.md): with AVX512-BF16 alone, bf16
// is 0.6-0.8x fp32 for the feed-forward networks.
bool cpu_prefers_bf16(const std::string& cpu_flags);

// Process-wide set-up for torch work, done once by each command:
//  - threads: libtorch starts with a single intra-op thread on these
//    machines; 0 means all hardware threads.
//  - memory: glibc's malloc hands buffers above 32 MiB back to the kernel on
//    every free, so each forward pass faults its activations in again (a
//    quarter of fp32 and a third of bf16 feed-forward time); freed memory is
//    kept for reuse instead. The cost: peak memory grows a little, and the
//    process keeps what it once needed until it exits.
void configure_runtime(int threads);
// Torch work started from the calling thread uses one intra-op thread from
// now on (OpenMP counts per thread; the process's other threads keep
// theirs): for a background lane (the studio's previews) that must not
// hold up a job's threads.
void use_one_thread_here();

// Matrix products (the Gram matrices, linear layers) run in BLAS. OpenBLAS
// picks its kernels from CPUID when it loads; on some virtual machines it
// does not know the CPU and falls back to SSE3 ("Prescott"), 3-4x slower
// than the CPU allows (docs/GATYS.md). The OPENBLAS_CORETYPE that fixes it
// ("SkylakeX" with AVX-512, "Haswell" with AVX2), or "" when OpenBLAS is not
// loaded, chose well, or the variable is set. It must be set before
// OpenBLAS loads: the CLI restarts itself with it (cli/main.cpp).
std::string better_blas_core();
// The rule, from OpenBLAS's core name and the flags line of /proc/cpuinfo.
std::string better_blas_core_for(const std::string& corename, const std::string& cpu_flags);

// Throws atelier::Error for a device name that is not "cpu", "cuda" or
// "cuda:N", or for CUDA when this libtorch has none or sees no GPU.
void check_device(const std::string& name);

// What to tell the user about an exception from the library: its message,
// or for torch's own errors "torch: " and the message without its backtrace.
std::string error_message(const std::exception& error);

}  // namespace atelier
