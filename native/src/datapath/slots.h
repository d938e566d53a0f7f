// The data-path threads' buffers for one packet, laid out from the TUN MTU (engine_receive.cc,
// engine_send.cc). Each leaves room around the packet for what the thread writes in place: the
// transport header, padding and tag when it seals, an envelope header in front when the peer is
// reached through a relay (relay.cc), so a packet is never copied. native/fuzz checks these
// layouts against every write the threads make.
#pragma once

#include <cstddef>

#include "wire.h"

namespace overlay::wire {

// The receive thread's. A datagram lands at `head`, at most `capacity` bytes of it: room for a
// full-MTU packet with transport header, padding and tag inside an envelope, and for overlay's
// control messages; anything larger is truncated by the kernel and dropped. `head` leaves room
// in front to wrap a forwarded packet in an envelope, and the kPadding bytes after `capacity`
// let a forwarded packet, re-sealed in place, pad up past what arrived.
struct ReceiveSlot {
  size_t head;
  size_t capacity;
  size_t size;
};

inline ReceiveSlot ReceiveSlotFor(size_t mtu) {
  size_t capacity = kEnvelopeHeader + kTransportHeader + mtu + kPadding + kTag;
  if (capacity < 2048) capacity = 2048;
  return {kEnvelopeHeader, capacity, kEnvelopeHeader + capacity + kPadding};
}

// The send thread's. A TUN read lands at `packet`, at most `capacity` bytes: one more than the
// MTU, so an oversized packet shows as such and is dropped. The transport header goes in front
// of it at `head`, after room for an envelope header; padding and tag go behind.
struct SendSlot {
  size_t head;
  size_t packet;
  size_t capacity;
  size_t size;
};

inline SendSlot SendSlotFor(size_t mtu) {
  size_t capacity = mtu + 1;
  size_t head = kEnvelopeHeader;
  return {head, head + kTransportHeader, capacity, head + kTransportHeader + capacity + kPadding + kTag};
}

}  // namespace overlay::wire
