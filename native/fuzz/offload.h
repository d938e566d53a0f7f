// The TUN offloads' parsers under the fuzz driver (issue 12): every packet read from the TUN is
// also read as the send thread reads it with offloads on — behind a virtio-net header
// (virtio_net.h), often made to look like a TCP super-packet of up to 64 KB — and split
// (tso.h); the segments, with the packet and damaged copies, then go through the receive thread's
// coalescing (gro.h) as one batch. Each buffer is allocated at its exact size, so AddressSanitizer
// sees any read or write past what the functions were given; the invariants below are checked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "counts.h"
#include "rng.h"

namespace overlay::fuzz {

// `data` is the packet, `mtu` the world's. Fails the run (invariants.h) on a broken invariant:
// a segment over the MTU or not the plan's size; a packet in no group or in two; a group's
// members out of order or its length not the sum of theirs; a super-packet over 65535 bytes.
void FuzzOffloads(Rng& rng, Counts& counts, const uint8_t* data, size_t len, size_t mtu);

}  // namespace overlay::fuzz
