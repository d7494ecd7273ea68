// Atomic output: bytes go to a temporary file beside the target, are flushed
// to disk, then renamed over it. A failed or interrupted run never leaves a
// partial file under the target name. A target that is a symbolic link is
// written through: the file it points to is replaced (atomically, in its own
// directory) and the link stays. The first write into a directory removes
// the temporary files (".NAME.tmp-PID-N") that killed runs left there more
// than 10 minutes before (younger ones may be another machine's, writing).
#pragma once
#include <string>
#include <vector>

namespace atelier {

// Writes `bytes` to `path` atomically. Throws atelier::Error naming the path
// when the directory is missing or not writable.
void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes);
void write_file_atomically(const std::string& path, const std::string& bytes);

// Throws atelier::Error when `output` is the file `input` (compared by
// filesystem identity: another spelling, a symbolic or hard link counts).
void refuse_overwriting_input(const std::string& input, const std::string& output);

// Reads a whole file. Throws atelier::Error when missing or unreadable.
std::vector<unsigned char> read_file_bytes(const std::string& path);

}  // namespace atelier
