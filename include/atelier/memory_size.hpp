// Sizes of memory: how much this machine has free, and the "4G" / "512M"
// notation of --max-memory.
#pragma once
#include <cstdint>
#include <string>

namespace atelier {

// MemAvailable from /proc/meminfo (what can be allocated without swapping);
// 0 when unknown.
int64_t available_memory_bytes();

// The default --max-memory: 90% of what is available now (0, no limit, when
// unknown).
int64_t default_memory_budget();

// "1500000", "512M", "4G", "4GiB", "2.5g" (binary units: K, M, G, T).
// Throws atelier::Error on anything else or on zero.
int64_t parse_memory_size(const std::string& text);

// Gives memory that was freed back to the system (glibc keeps freed blocks of
// its heap for reuse): between the tiles of a large picture, whose working
// sets differ in shape, so that the next one does not add to what the last
// one left. A no-op where the C library has no such call.
void return_free_memory();

// "3.2 GiB", "512 MiB".
std::string format_memory_size(int64_t bytes);

}  // namespace atelier
