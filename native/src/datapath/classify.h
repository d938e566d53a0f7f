// What a datagram on the UDP port is, and its header fields, read from untrusted bytes. Pure
// functions over (bytes, length): the receive thread calls them (engine_receive.cc, relay.cc),
// and native/fuzz/ runs the very same functions under AddressSanitizer and UBSan against
// generated and mutated datagrams. Each reads only p[0, len) and never writes.
//
// One place decides, as wireguard-go demultiplexes by type byte in one place (STYLE.md):
//   envelope  type 0x84: a relay envelope, forwarded or opened by the data path (relay.cc)
//   transport type 4, zero reserved bytes, at least header and tag (whitepaper §5.4.6)
//   STUN      a well-framed STUN message (wire.h), only straight from the network
//   handshake types 1-3 with zero reserved bytes and their exact sizes (whitepaper §5.4.2-§5.4.7)
//   overlay   any other type byte at or above 0x80: overlay's own sealed control messages
//   junk      everything else, counted and dropped
#pragma once

#include <cstddef>
#include <cstdint>

#include "wire.h"

namespace overlay::wire {

enum class Kind : uint8_t { kJunk, kTransport, kInitiation, kResponse, kCookieReply, kStun, kOverlay, kEnvelope };

// Initiation, response, cookie reply, STUN and overlay messages go up to JavaScript.
inline bool GoesUp(Kind k) { return k != Kind::kJunk && k != Kind::kTransport && k != Kind::kEnvelope; }

inline bool ReservedZero(const uint8_t* p) { return p[1] == 0 && p[2] == 0 && p[3] == 0; }

// `relayed`: the datagram came out of a relay envelope. A STUN server is no member, so its
// answers never come relayed; an envelope inside an envelope is the caller's to refuse (one hop).
inline Kind Classify(const uint8_t* p, size_t len, bool relayed) {
  if (len < 1) return Kind::kJunk;
  if (p[0] == kEnvelope) return Kind::kEnvelope;
  if (len >= kTransportMin && p[0] == kTransport && ReservedZero(p)) return Kind::kTransport;
  if (!relayed && IsStunMessage(p, len)) return Kind::kStun;
  if (len < 4) return Kind::kJunk;
  switch (p[0]) {
    case kInitiation:
      return ReservedZero(p) && len == kInitiationSize ? Kind::kInitiation : Kind::kJunk;
    case kResponse:
      return ReservedZero(p) && len == kResponseSize ? Kind::kResponse : Kind::kJunk;
    case kCookieReply:
      return ReservedZero(p) && len == kCookieReplySize ? Kind::kCookieReply : Kind::kJunk;
    default:
      return p[0] >= kOverlayFirst ? Kind::kOverlay : Kind::kJunk;
  }
}

// A transport message's header (whitepaper §5.4.6). The ciphertext starts at p + kTransportHeader
// and is `body` bytes long, its tag follows; `body` is not necessarily a multiple of 16, since
// padding stops at the MTU.
struct TransportHeader {
  uint32_t receiver;
  uint64_t counter;
  size_t body;
};

// False unless Classify says kTransport.
inline bool ParseTransport(const uint8_t* p, size_t len, TransportHeader* out) {
  if (len < kTransportMin || p[0] != kTransport || !ReservedZero(p)) return false;
  *out = {ReadLe32(p + 4), ReadLe64(p + 8), len - kTransportHeader - kTag};
  return true;
}

// A relay envelope's header (layout in wire.h). The MAC is at p + kEnvelopeAad, the inner
// datagram at p + kEnvelopeHeader, `inner` bytes long and never empty.
struct EnvelopeHeader {
  uint8_t flags;  // kEnvelopeToRelay or kEnvelopeFromRelay
  uint64_t mac_tag;
  uint64_t other_tag;
  uint64_t counter;
  size_t inner;
};

// False for anything but a well-formed envelope: known flags, zero reserved bytes, some content.
inline bool ParseEnvelope(const uint8_t* p, size_t len, EnvelopeHeader* out) {
  if (len <= kEnvelopeHeader || p[0] != kEnvelope || p[1] > kEnvelopeFromRelay || p[2] != 0 || p[3] != 0)
    return false;
  *out = {p[1], ReadLe64(p + 4), ReadLe64(p + 12), ReadLe64(p + 20), len - kEnvelopeHeader};
  return true;
}

}  // namespace overlay::wire
