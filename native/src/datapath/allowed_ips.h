// Longest-prefix match from an inner IP address to a peer: WireGuard's cryptokey routing
// (whitepaper §2). The same table answers both directions: which peer a packet from the TUN goes
// to (by destination), and whether a decrypted packet's source belongs to the peer it came from.
//
// One hash map per prefix length in use, searched longest first. Networks use few distinct
// lengths (/32 and /128 hosts, a /16 or /64 subnet), so a lookup is a handful of hash probes.
// Not thread-safe: the data path reads it under the table's shared lock; updates take it exclusively.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <iterator>
#include <unordered_map>
#include <vector>

namespace overlay {

using PeerId = uint32_t;
constexpr PeerId kNoPeer = 0;

class AllowedIps {
 public:
  // `addr` is 4 or 16 bytes in network order. Replaces an existing entry for the same prefix
  // (a prefix belongs to one peer only, as in WireGuard).
  void Insert(const uint8_t* addr, int family_bytes, int length, PeerId peer) {
    Key key = Mask(addr, family_bytes, length);
    auto& level = LevelFor(family_bytes, length);
    level[key] = peer;
  }

  void RemovePeer(PeerId peer) {
    for (auto* levels : {&v4_, &v6_}) {
      for (auto& level : *levels) {
        for (auto it = level.entries.begin(); it != level.entries.end();) {
          it = it->second == peer ? level.entries.erase(it) : std::next(it);
        }
      }
      levels->erase(std::remove_if(levels->begin(), levels->end(),
                                   [](const Level& l) { return l.entries.empty(); }),
                    levels->end());
    }
  }

  // The peer owning the longest prefix containing `addr`, or kNoPeer.
  PeerId Lookup(const uint8_t* addr, int family_bytes) const {
    const auto& levels = family_bytes == 4 ? v4_ : v6_;
    for (const auto& level : levels) {
      auto it = level.entries.find(Mask(addr, family_bytes, level.length));
      if (it != level.entries.end()) return it->second;
    }
    return kNoPeer;
  }

  size_t Size() const {
    size_t n = 0;
    for (const auto* levels : {&v4_, &v6_})
      for (const auto& level : *levels) n += level.entries.size();
    return n;
  }

 private:
  struct Key {
    uint64_t hi = 0, lo = 0;
    bool operator==(const Key& o) const { return hi == o.hi && lo == o.lo; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.hi * 0x9e3779b97f4a7c15ull ^ k.lo); }
  };
  struct Level {
    int length;
    std::unordered_map<Key, PeerId, KeyHash> entries;
  };

  static Key Mask(const uint8_t* addr, int family_bytes, int length) {
    uint8_t bytes[16] = {};
    std::memcpy(bytes, addr, family_bytes);
    for (int i = 0; i < 16; i++) {
      int bits = length - i * 8;
      if (bits >= 8) continue;
      bytes[i] &= bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    }
    Key k;
    std::memcpy(&k.hi, bytes, 8);
    std::memcpy(&k.lo, bytes + 8, 8);
    return k;
  }

  std::unordered_map<Key, PeerId, KeyHash>& LevelFor(int family_bytes, int length) {
    auto& levels = family_bytes == 4 ? v4_ : v6_;
    for (auto& level : levels)
      if (level.length == length) return level.entries;
    // Keep levels ordered longest first, so the first hit in Lookup is the longest match.
    auto pos = levels.begin();
    while (pos != levels.end() && pos->length > length) ++pos;
    return levels.insert(pos, Level{length, {}})->entries;
  }

  std::vector<Level> v4_;
  std::vector<Level> v6_;
};

}  // namespace overlay
