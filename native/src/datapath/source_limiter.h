// A budget per source address for handshake messages, in a table of fixed size (handshake_screen.h).
//
// Under load, a handshake message that carries a valid mac2 has proven its sender receives at its
// source address (whitepaper §5.3), so its address can be charged: each address (an IPv6 sender by
// its /64, what one host usually holds) gets a token bucket, and one that spends it waits, while
// everyone else's handshakes still go up to JavaScript and their Diffie-Hellman.
//
// The table never grows: kSets sets of kWays entries, the set chosen by a keyed hash of the
// address (an attacker cannot aim at one set without the key). An address not in its set takes
// the entry idle longest, if that one has been idle a second — its bucket would be full again, so
// forgetting it loses nothing. When every entry of the set was used within the second, the newcomer
// is refused: filling a set takes that many addresses that each answered a cookie.
#pragma once

#include <netinet/in.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "admission.h"

namespace overlay {

class SourceLimiter {
 public:
  static constexpr size_t kSets = 1024;
  static constexpr size_t kWays = 4;
  static constexpr int64_t kIdleMs = 1000;

  SourceLimiter() {
    if (RAND_bytes(reinterpret_cast<uint8_t*>(seed_), sizeof seed_) != 1) {
      // Without randomness the table still works; only its spread is guessable.
      seed_[0] = 0x9e3779b97f4a7c15ull;
      seed_[1] = 0xbf58476d1ce4e5b9ull;
    }
  }

  // True when `from` may send one more handshake message now.
  bool Allow(const sockaddr_in6& from, double rate, double burst, int64_t now_ms) {
    Key key = KeyOf(from);
    Entry* set = &entries_[(Hash(key) % kSets) * kWays];
    Entry* oldest = &set[0];
    for (size_t i = 0; i < kWays; i++) {
      if (set[i].used && set[i].key == key) {
        set[i].last_ms = now_ms;
        return set[i].bucket.Take(rate, burst, now_ms);
      }
      if (!set[i].used || set[i].last_ms < oldest->last_ms) oldest = &set[i];
      if (!set[i].used) break;
    }
    if (oldest->used && now_ms - oldest->last_ms < kIdleMs) return false;
    *oldest = Entry{};
    oldest->used = true;
    oldest->key = key;
    oldest->last_ms = now_ms;
    return oldest->bucket.Take(rate, burst, now_ms);
  }

 private:
  using Key = std::array<uint8_t, 16>;
  struct Entry {
    Key key{};
    bool used = false;
    int64_t last_ms = 0;
    admission::Bucket bucket;
  };

  static Key KeyOf(const sockaddr_in6& from) {
    Key key{};
    std::memcpy(key.data(), from.sin6_addr.s6_addr, key.size());
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(key.data(), kMapped, sizeof kMapped) != 0) std::memset(key.data() + 8, 0, 8);  // IPv6: its /64
    return key;
  }

  // Two rounds of a 64-bit mixer (splitmix64's finaliser) over the address, keyed by the seed.
  uint64_t Hash(const Key& key) const {
    uint64_t a, b;
    std::memcpy(&a, key.data(), 8);
    std::memcpy(&b, key.data() + 8, 8);
    return Mix(Mix(a ^ seed_[0]) ^ b ^ seed_[1]);
  }
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  uint64_t seed_[2] = {};
  std::array<Entry, kSets * kWays> entries_{};
};

}  // namespace overlay
