// splitmix64: a tiny, well-mixed generator, identical on every platform
// (std::shuffle and the std distributions are not). Every random choice of
// training (data order, crops, latents, augmentation) is drawn from one,
// seeded from (seed, step, sample), so resumed and distributed runs draw
// exactly what a single uninterrupted run draws.
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace atelier {

class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [low, high).
  double uniform(double low = 0.0, double high = 1.0) {
    return low + (high - low) * static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
  }
  // Standard normal (Box-Muller).
  double normal() {
    const double u = 1.0 - uniform();  // (0, 1]
    const double v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }

 private:
  uint64_t state_;
};

// A seed from three numbers (seed, step, sample ...).
inline uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c) {
  SplitMix random(a * 0x100000001B3ULL ^ (b + 0x51ED27ULL) * 0x9E3779B97F4A7C15ULL ^ c);
  random.next();
  return random.next();
}

// 0..count-1 in a random order (Fisher-Yates).
inline std::vector<size_t> shuffled_order(size_t count, uint64_t seed) {
  std::vector<size_t> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = i;
  SplitMix random(seed);
  for (size_t i = count; i > 1; --i) std::swap(order[i - 1], order[random.next() % i]);
  return order;
}

}  // namespace atelier
