// The fuzz driver's only source of randomness: SplitMix64, so a seed replays a run input for input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace overlay::fuzz {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for fuzzing; n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  uint8_t Byte() { return static_cast<uint8_t>(Next()); }
  void Fill(uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = Byte();
  }
  template <typename T, size_t N>
  T Pick(const T (&choices)[N]) {
    return choices[Below(N)];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& choices) {
    return choices[Below(choices.size())];
  }
  template <typename T>
  T& Pick(std::vector<T>& choices) {
    return choices[Below(choices.size())];
  }

 private:
  uint64_t state_;
};

// Seeds the driver's RAND_bytes (rand.cc), which the data path's headers call.
void SeedRandBytes(uint64_t seed);

}  // namespace overlay::fuzz
