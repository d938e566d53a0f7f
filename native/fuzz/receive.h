// One datagram through the receive path's pure steps, in the order Engine::ReceiveLoop and
// Engine::HandleEnvelope take them (engine_receive.cc, relay.cc):
//
//   slot → Classify → [envelope: ParseEnvelope → window → VerifyMac → re-wrap and forward, or
//   open and Classify the inner datagram] → up, junk, or ParseTransport → session → window →
//   Open in place → ParseInner → route check → DecrementHopLimit → SealTransport in place for
//   another peer (wrapped for its relay), or deliver.
//
// The datagram lies in a buffer shaped like the engine's receive slot (classify.h ReceiveSlot):
// room in front, the datagram, room behind. Every byte but the datagram's is poisoned for
// AddressSanitizer, so a parser that reads one byte past what arrived is reported, though the
// engine's slot would have had stale bytes there; the room is unpoisoned only where the engine
// itself writes (a forwarded packet's padding and tag, a relay envelope's header), so a write
// past the slot is reported too. What the engine hands on (up to JavaScript, to the TUN, to the
// socket) is read in full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "../src/datapath/aead.h"
#include "counts.h"
#include "parsers.h"
#include "world.h"

namespace overlay::fuzz {

// The pair's nonce direction, as relay.cc's DirectionOf: the lower tag's sender uses 0.
inline uint32_t EnvelopeDirection(uint64_t sender_tag, uint64_t receiver_tag) {
  return sender_tag < receiver_tag ? 0 : 1;
}

class Receiver {
 public:
  Receiver(World& world, const Parsers& parsers, Counts& counts);
  ~Receiver();
  void Datagram(const uint8_t* data, size_t len);

 private:
  class Slot;
  void Envelope(Slot& slot, uint8_t* p, size_t n);
  void Classified(Slot& slot, uint8_t* p, size_t n, wire::Kind kind, PeerId via, PeerId sender);
  void Transport(Slot& slot, uint8_t* p, const wire::TransportHeader& header, PeerId via, PeerId sender);
  void Forward(Slot& slot, uint8_t* p, FuzzPeer& to, const wire::InnerPacket& inner);
  wire::Kind Classify(const uint8_t* p, size_t n, bool relayed);
  // The real window and the model must agree on every question.
  bool Check(CheckedWindow& window, uint64_t counter);
  bool Accept(CheckedWindow& window, uint64_t counter);
  PeerId Lookup(const uint8_t* addr, int bytes);

  World& w_;
  const Parsers& parsers_;
  Counts& counts_;
  TransportAead aead_;
  std::unique_ptr<Slot> slot_;
};

}  // namespace overlay::fuzz
