// The send side of the data path as the fuzz driver runs it: one packet from the TUN through
// the send thread's steps (engine_send.cc): read into the send slot (slots.h) → ParseInner →
// route by destination → SealTransport in place → wrapped for a relayed peer (Engine::Address).
// The last two, SealFor, are also how the receive side forwards a packet to another peer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../src/datapath/aead.h"
#include "counts.h"
#include "parsers.h"
#include "slot_buffer.h"
#include "world.h"

namespace overlay::fuzz {

// Reads every byte, as write(2) to the TUN, sendmmsg or the copy up to JavaScript would.
void ReadAll(const uint8_t* p, size_t n);

// The pair's nonce direction, as relay.cc's DirectionOf: the lower tag's sender uses 0.
inline uint32_t EnvelopeDirection(uint64_t sender_tag, uint64_t receiver_tag) {
  return sender_tag < receiver_tag ? 0 : 1;
}

// Engine::SealForPeer and Engine::Address for `to`: seals the `len` bytes at
// slot + kTransportHeader with its session in place, wraps the datagram in an envelope for its
// relay if it has one (in the kEnvelopeHeader bytes before `slot`), reads out the datagram as
// sendmmsg would, and checks that `to` opens exactly the packet. `buffer` is the slot's, whose
// room it unpoisons where the engine writes. True when the datagram went in an envelope.
bool SealFor(World& world, TransportAead& aead, SlotBuffer& buffer, FuzzPeer& to, uint8_t* slot, size_t len);

// Both sides ask the real route table and its model together (World::ModelLookup).
PeerId CheckedLookup(World& world, Counts& counts, const uint8_t* addr, int bytes);

class Sender {
 public:
  Sender(World& world, const Parsers& parsers, Counts& counts)
      : w_(world), parsers_(parsers), counts_(counts), slot_(world.send_slot.size, world.send_slot.packet) {}
  void Packet(const uint8_t* data, size_t len);

 private:
  World& w_;
  const Parsers& parsers_;
  Counts& counts_;
  TransportAead aead_;
  SlotBuffer slot_;
};

}  // namespace overlay::fuzz
