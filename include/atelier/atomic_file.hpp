// Atomic output: bytes go to a temporary file beside the target, are flushed
// to disk, then renamed over it. A failed or interrupted run never leaves a
// partial file under the target name.
#pragma once
#include <string>
#include <vector>

namespace atelier {

// Writes `bytes` to `path` atomically. Throws atelier::Error naming the path
// when the directory is missing or not writable.
void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes);
void write_file_atomically(const std::string& path, const std::string& bytes);

// Reads a whole file. Throws atelier::Error when missing or unreadable.
std::vector<unsigned char> read_file_bytes(const std::string& path);

}  // namespace atelier
