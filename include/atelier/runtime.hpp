// How the library runs torch work, without torch in the header: the
// numeric precision of the heavy work and the process-wide set-up every
// command does once. Front ends (CLI, studio, Python) include this, not torch.
#pragma once
#include <exception>
#include <string>

namespace atelier {

// Numeric precision of the heavy work (convolutions, matrix products).
// BF16 runs them under autocast: on CPUs with AMX-BF16 or AVX512-BF16
// oneDNN computes in bf16 with fp32 accumulation, about twice as fast.
enum class Precision { F32, BF16 };
Precision parse_precision(const std::string& name);  // "fp32" | "bf16"
std::string precision_name(Precision precision);     // the same spelling back

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

// Throws atelier::Error for a device name that is not "cpu", "cuda" or
// "cuda:N", or for CUDA when this libtorch has none or sees no GPU.
void check_device(const std::string& name);

// What to tell the user about an exception from the library: its message,
// or for torch's own errors "torch: " and the message without its backtrace.
std::string error_message(const std::exception& error);

}  // namespace atelier
