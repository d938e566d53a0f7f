// One of the data path's per-packet buffers (slots.h) on the heap, reused for every packet, with
// everything but the packet just loaded poisoned for AddressSanitizer: a parser that reads one
// byte past what arrived is reported, though the engine's slot would hold stale bytes there.
// The room around the packet is unpoisoned only where the engine itself writes, so a write past
// the slot is reported too; the slot ends where its heap block does, and the allocator's redzone
// follows.
#pragma once

#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace overlay::fuzz {

class SlotBuffer {
 public:
  // `size` bytes, the packet loaded at `offset`.
  SlotBuffer(size_t size, size_t offset) {
    // AddressSanitizer poisons in 8-byte granules and can leave a granule's tail, not its head,
    // addressable: so the packet starts on a granule boundary.
    shift_ = (8 - offset % 8) % 8;
    total_ = shift_ + size;
    block_ = new uint8_t[total_];
    start_ = block_ + shift_;
    packet_ = start_ + offset;
  }
  ~SlotBuffer() {
    ASAN_UNPOISON_MEMORY_REGION(block_, total_);
    delete[] block_;
  }
  SlotBuffer(const SlotBuffer&) = delete;
  SlotBuffer& operator=(const SlotBuffer&) = delete;

  // As recvmmsg or read(2) leaves it: `n` bytes at the offset, all around them poisoned.
  uint8_t* Load(const uint8_t* data, size_t n) {
    ASAN_UNPOISON_MEMORY_REGION(block_, total_);
    if (n > 0) std::memcpy(packet_, data, n);
    len_ = n;
    ASAN_POISON_MEMORY_REGION(block_, packet_ - block_);
    ASAN_POISON_MEMORY_REGION(packet_ + n, block_ + total_ - (packet_ + n));
    return packet_;
  }
  // The engine writes there next: in front of the packet from `from` on (nothing to do when
  // `from` lies inside what arrived), or behind it to the slot's end. Only inside the slot.
  void WritableFrom(uint8_t* from) {
    if (from >= start_ && from < packet_) ASAN_UNPOISON_MEMORY_REGION(from, packet_ - from);
  }
  void WritableBehind() { ASAN_UNPOISON_MEMORY_REGION(packet_ + len_, block_ + total_ - (packet_ + len_)); }

 private:
  size_t shift_;
  size_t total_;
  size_t len_ = 0;
  uint8_t* block_;
  uint8_t* start_;
  uint8_t* packet_;
};

}  // namespace overlay::fuzz
