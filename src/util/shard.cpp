#include "atelier/shard.hpp"

#include <cctype>

#include "atelier/error.hpp"

namespace atelier {

namespace {

// Digits only (no sign, no spaces), at most 6 of them; -1 otherwise.
long long whole_number(const std::string& text) {
  if (text.empty() || text.size() > 6) return -1;
  long long value = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

Shard parse_shard(const std::string& text, const std::string& flag) {
  const std::string usage = flag + " " + text + ": give I/N, shard I (counted from 0) of N, 0 <= I < N <= " +
                            std::to_string(kMaxShards);
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw Error(usage);
  const long long index = whole_number(text.substr(0, slash)), count = whole_number(text.substr(slash + 1));
  if (index < 0 || count < 1 || count > kMaxShards || index >= count) throw Error(usage);
  return Shard{index, count};
}

}  // namespace atelier
