// One datagram through the receive path's steps, in the order Engine::ReceiveLoop,
// Engine::HandleEnvelope and Engine::HandleControl take them (engine_receive.cc, relay.cc,
// engine.cc):
//
//   slot → [envelope: ParseEnvelope → tag → key id → window → VerifyMac → re-wrap and forward,
//   or open the inner datagram] → ParseTransport → session → window → Open in place →
//   ParseInner → route check → DecrementHopLimit → SealTransport in place for another peer
//   (wrapped for its relay), or deliver;
//   not a transport: admission::Classify → junk, or a handshake through handshake_screen.h
//   (mac1, load, cookie reply or mac2, source budget), or an overlay message through
//   SealedMac1Ok and the member's or the strangers' budget → up.
//
// The datagram lies in a buffer shaped like the engine's receive slot (slots.h), poisoned all
// around (slot_buffer.h) but where the engine writes: a forwarded packet's padding and tag, a
// relay envelope's header. What the engine hands on (up to JavaScript, to the TUN, to the
// socket) is read in full.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../src/datapath/aead.h"
#include "counts.h"
#include "parsers.h"
#include "send.h"
#include "slot_buffer.h"
#include "world.h"

namespace overlay::fuzz {

class Receiver {
 public:
  Receiver(World& world, const Parsers& parsers, Counts& counts);
  void Datagram(const uint8_t* data, size_t len);

 private:
  void Envelope(uint8_t* p, size_t n);
  void Inner(uint8_t* p, size_t n, PeerId via, PeerId sender);
  void Transport(uint8_t* p, const wire::TransportHeader& header, PeerId via, PeerId sender);
  void Forward(uint8_t* p, FuzzPeer& to, const wire::InnerPacket& inner);
  // admit.cc: Engine::HandleControl, AdmitHandshake and AdmitOverlay.
  void Control(const uint8_t* p, size_t n, PeerId via, PeerId sender);
  bool AdmitHandshake(const uint8_t* p, size_t n, bool relayed);
  bool AdmitOverlay(admission::Kind kind, const uint8_t* p, size_t n, PeerId sender);
  // The real window and the model must agree on every question.
  bool Check(CheckedWindow& window, uint64_t counter);
  bool Accept(CheckedWindow& window, uint64_t counter);

  World& w_;
  const Parsers& parsers_;
  Counts& counts_;
  TransportAead aead_;
  SlotBuffer slot_;
};

}  // namespace overlay::fuzz
