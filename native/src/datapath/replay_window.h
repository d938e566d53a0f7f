// Anti-replay window for transport counters, in the style of RFC 6479: a ring of 64-bit blocks,
// so sliding forward clears whole blocks instead of shifting bits.
//
// Size: 8192 bits, as WireGuard uses today, because fq_codel and multi-queue NICs reorder far
// more than the 2048 bits of the original paper tolerate. One block of the ring is always the one
// being filled, so the usable window is 8192 - 64 counters behind the newest.
//
// Not thread-safe: each session's window is touched only by the receive thread.
#pragma once

#include <cstdint>
#include <cstring>

namespace overlay {

class ReplayWindow {
 public:
  static constexpr unsigned kBits = 8192;
  static constexpr unsigned kBlockBits = 64;
  static constexpr unsigned kBlocks = kBits / kBlockBits;
  static constexpr uint64_t kWindow = kBits - kBlockBits;
  // whitepaper §5.4.6: counters at or past REJECT_AFTER_MESSAGES are never accepted.
  static constexpr uint64_t kRejectAfterMessages = UINT64_MAX - (1ull << 13);

  ReplayWindow() { Reset(); }

  void Reset() {
    newest_ = 0;
    seen_any_ = false;
    std::memset(blocks_, 0, sizeof blocks_);
  }

  // True if `counter` may be new. Cheap: called before decryption so replays and stale packets
  // cost no AEAD work. A packet that passes must still be Accept()ed after it authenticates.
  bool Check(uint64_t counter) const {
    if (counter >= kRejectAfterMessages) return false;
    if (!seen_any_ || counter > newest_) return true;
    if (newest_ - counter >= kWindow) return false;
    return (blocks_[BlockOf(counter)] & BitOf(counter)) == 0;
  }

  // Records an authenticated counter. Returns false if it was a replay after all (two copies of
  // one packet in the same receive batch both pass Check before either is accepted).
  bool Accept(uint64_t counter) {
    if (!Check(counter)) return false;
    if (!seen_any_ || counter > newest_) {
      if (seen_any_) {
        uint64_t from = newest_ / kBlockBits;
        uint64_t steps = counter / kBlockBits - from;
        if (steps > kBlocks) steps = kBlocks;
        // Blocks the window slides over hold counters too old to matter: clear them for reuse.
        for (uint64_t i = 1; i <= steps; i++) blocks_[(from + i) % kBlocks] = 0;
      }
      newest_ = counter;
      seen_any_ = true;
    }
    blocks_[BlockOf(counter)] |= BitOf(counter);
    return true;
  }

 private:
  static unsigned BlockOf(uint64_t c) { return static_cast<unsigned>((c / kBlockBits) % kBlocks); }
  static uint64_t BitOf(uint64_t c) { return 1ull << (c % kBlockBits); }

  uint64_t newest_;
  bool seen_any_;
  uint64_t blocks_[kBlocks];
};

}  // namespace overlay
