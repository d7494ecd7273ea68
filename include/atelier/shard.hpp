// One share of a job split between processes that never talk to each other
// (a Slurm job array, a Kubernetes Indexed Job): shard `index` of `count`
// takes items index, index + count, index + 2 count ... of a list every
// shard orders the same way, so the shards cover the list once between them.
// Torch-free.
#pragma once
#include <string>

namespace atelier {

constexpr long long kMaxShards = 100000;

struct Shard {
  long long index = 0, count = 1;  // 0 <= index < count <= kMaxShards
  bool owns(long long item) const { return item % count == index; }
  bool whole() const { return count == 1; }
  std::string name() const { return std::to_string(index) + "/" + std::to_string(count); }
  // How many of items 0 .. total - 1 this shard owns.
  long long share_of(long long total) const { return total > index ? (total - index + count - 1) / count : 0; }
};

// "I/N" (0-based I, as $SLURM_ARRAY_TASK_ID and $JOB_COMPLETION_INDEX are)
// with 0 <= I < N <= kMaxShards. Throws atelier::Error in one line naming
// `flag` otherwise.
Shard parse_shard(const std::string& text, const std::string& flag = "--shard");

}  // namespace atelier
