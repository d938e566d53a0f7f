// Message layouts on the UDP port: WireGuard's four (whitepaper §5.4) and the byte order helpers.
// overlay's own control messages share the port with type bytes WireGuard never sends; the data
// path does not read them, it only hands them up to JavaScript. The one exception is the relay
// envelope (0x84), which the data path itself forwards and opens (relay.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace overlay::wire {

constexpr uint8_t kInitiation = 1;
constexpr uint8_t kResponse = 2;
constexpr uint8_t kCookieReply = 3;
constexpr uint8_t kTransport = 4;

constexpr size_t kInitiationSize = 148;
constexpr size_t kResponseSize = 92;
constexpr size_t kCookieReplySize = 64;

// type(1) reserved(3) receiver(4) counter(8)
constexpr size_t kTransportHeader = 16;
constexpr size_t kTag = 16;
constexpr size_t kTransportMin = kTransportHeader + kTag;  // a keepalive
// Plaintext is padded to a multiple of 16 bytes (whitepaper §5.4.6), hiding exact lengths.
constexpr size_t kPadding = 16;

// overlay's own messages: type bytes at or above this, never used by WireGuard.
constexpr uint8_t kOverlayFirst = 0x80;

// Relay envelope: a WireGuard datagram carried through a third member (DESIGN.md "NAT traversal
// and paths"). The member that wraps it MACs it with the 32-byte key it shares with the next hop;
// the inner datagram stays end-to-end encrypted and the relay cannot read it.
//
//   [0x84][flags][key id: u16 LE][mac tag: 8][other tag: 8][counter: u64 LE][mac: 16][datagram]
//
// flags 0, "to relay" (A → M): mac tag names A (the sender), other tag the destination B.
// flags 1, "from relay" (M → B): mac tag names M (the relay), other tag the original sender A.
// Either way the first tag names the holder of the MAC key, so the receiver finds the key with
// one hash lookup and never tries keys in turn. The key id names which of that pair's keys (one
// per pair of data-path epochs, relay.cc) made the MAC, so an envelope of an epoch the receiver
// does not hold is dropped before any MAC work. The MAC is ChaCha20-Poly1305 over an empty
// plaintext, with the header up to the counter and the whole inner datagram as associated data;
// the nonce is direction || counter, the counter strictly increasing per sending data path,
// checked against a replay window per key like transport counters.
constexpr uint8_t kEnvelope = 0x84;
constexpr uint8_t kEnvelopeToRelay = 0;
constexpr uint8_t kEnvelopeFromRelay = 1;
constexpr size_t kEnvelopeTagSize = 8;
constexpr size_t kEnvelopeAad = 28;  // type, flags, reserved, both tags, counter: all before the MAC
constexpr size_t kEnvelopeHeader = kEnvelopeAad + 16;

// STUN (RFC 8489 §5): core/stun asks STUN servers for our reflexive address from this port, and
// their answers go up to JavaScript like control messages. A STUN message starts with two zero
// bits, has the magic cookie at bytes 4..7 and a length field (a multiple of 4) counting what
// follows its 20-byte header. A Binding response's first byte (0x01) is WireGuard's initiation
// type, but its bytes 1..3 are never all zero, so the two are told apart.
constexpr uint32_t kStunMagicCookie = 0x2112a442;
constexpr size_t kStunHeader = 20;

// The same cheap test as core/stun's isStunMessage: true for any well-framed STUN message.
inline bool IsStunMessage(const uint8_t* p, size_t len) {
  if (len < kStunHeader || (p[0] & 0xc0) != 0) return false;
  uint32_t cookie = uint32_t(p[4]) << 24 | uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7];
  size_t length = size_t(p[2]) << 8 | p[3];
  return cookie == kStunMagicCookie && length % 4 == 0 && kStunHeader + length == len;
}

// Largest UDP payload we accept or send; anything bigger is not ours.
constexpr size_t kMaxDatagram = 65535;

inline uint16_t ReadLe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline uint32_t ReadLe32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t ReadLe64(const uint8_t* p) { return uint64_t(ReadLe32(p)) | uint64_t(ReadLe32(p + 4)) << 32; }
inline void WriteLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void WriteLe64(uint8_t* p, uint64_t v) {
  WriteLe32(p, static_cast<uint32_t>(v));
  WriteLe32(p + 4, static_cast<uint32_t>(v >> 32));
}

inline void WriteTransportHeader(uint8_t* p, uint32_t receiver, uint64_t counter) {
  p[0] = kTransport;
  p[1] = p[2] = p[3] = 0;
  WriteLe32(p + 4, receiver);
  WriteLe64(p + 8, counter);
}

inline void WriteEnvelopeHeader(uint8_t* p, uint8_t flags, uint16_t key_id, uint64_t mac_tag, uint64_t other_tag,
                                uint64_t counter) {
  p[0] = kEnvelope;
  p[1] = flags;
  p[2] = static_cast<uint8_t>(key_id);
  p[3] = static_cast<uint8_t>(key_id >> 8);
  WriteLe64(p + 4, mac_tag);
  WriteLe64(p + 12, other_tag);
  WriteLe64(p + 20, counter);
}

// Header parsers for the two messages the data path reads itself, pure functions over untrusted
// (bytes, length) that read only p[0, len): the receive thread calls them (engine_receive.cc,
// relay.cc) and native/fuzz runs the same functions under AddressSanitizer and UBSan. What any
// other datagram is, admission.h's Classify decides.

inline bool IsEnvelope(const uint8_t* p, size_t len) { return len >= 1 && p[0] == kEnvelope; }

// A transport message's header (whitepaper §5.4.6). The ciphertext starts at p + kTransportHeader
// and is `body` bytes long, its tag follows; `body` is not necessarily a multiple of 16, since
// padding stops at the MTU.
struct TransportHeader {
  uint32_t receiver;
  uint64_t counter;
  size_t body;
};

// False for anything but type 4 with zero reserved bytes and room for header and tag.
inline bool ParseTransport(const uint8_t* p, size_t len, TransportHeader* out) {
  if (len < kTransportMin || p[0] != kTransport || p[1] != 0 || p[2] != 0 || p[3] != 0) return false;
  *out = {ReadLe32(p + 4), ReadLe64(p + 8), len - kTransportHeader - kTag};
  return true;
}

// A relay envelope's header (layout above). The MAC is at p + kEnvelopeAad, the inner datagram at
// p + kEnvelopeHeader, `inner` bytes long and never empty.
struct EnvelopeHeader {
  uint8_t flags;  // kEnvelopeToRelay or kEnvelopeFromRelay
  uint16_t key_id;
  uint64_t mac_tag;
  uint64_t other_tag;
  uint64_t counter;
  size_t inner;
};

// False for anything but an envelope with known flags and some content; any key id parses (the
// receiver compares it with the key it holds, relay.cc).
inline bool ParseEnvelope(const uint8_t* p, size_t len, EnvelopeHeader* out) {
  if (len <= kEnvelopeHeader || p[0] != kEnvelope || p[1] > kEnvelopeFromRelay) return false;
  *out = {p[1], ReadLe16(p + 2), ReadLe64(p + 4), ReadLe64(p + 12), ReadLe64(p + 20), len - kEnvelopeHeader};
  return true;
}

inline size_t PaddedLength(size_t len, size_t mtu) {
  size_t padded = (len + kPadding - 1) / kPadding * kPadding;
  return padded > mtu && len <= mtu ? mtu : padded;
}

// Inner IP packet facts the data path needs: its length from the header (the rest is padding)
// and where its addresses are. False for anything that is not a well-formed IPv4/IPv6 header.
struct InnerPacket {
  size_t length;
  int addr_bytes;  // 4 or 16
  const uint8_t* src;
  const uint8_t* dst;
};

inline bool ParseInner(const uint8_t* p, size_t len, InnerPacket* out) {
  if (len < 1) return false;
  int version = p[0] >> 4;
  if (version == 4) {
    if (len < 20 || (p[0] & 0x0f) < 5) return false;
    size_t total = size_t(p[2]) << 8 | p[3];
    if (total < 20 || total > len) return false;
    *out = {total, 4, p + 12, p + 16};
    return true;
  }
  if (version == 6) {
    if (len < 40) return false;
    size_t total = 40 + (size_t(p[4]) << 8 | p[5]);
    if (total > len) return false;
    *out = {total, 16, p + 8, p + 24};
    return true;
  }
  return false;
}

// A router's duty when forwarding between peers: decrement the IPv4 TTL (fixing the header
// checksum incrementally, RFC 1624 eqn. 3) or the IPv6 hop limit. False when it would reach
// zero, so a routing loop between misconfigured peers dies out instead of circling.
inline bool DecrementHopLimit(uint8_t* p, const InnerPacket& inner) {
  if (inner.addr_bytes == 16) {
    if (p[7] <= 1) return false;
    p[7]--;
    return true;
  }
  if (p[8] <= 1) return false;
  uint32_t old_word = uint32_t(p[8]) << 8 | p[9];
  p[8]--;
  uint32_t new_word = uint32_t(p[8]) << 8 | p[9];
  uint32_t sum = (~(uint32_t(p[10]) << 8 | p[11]) & 0xffff) + (~old_word & 0xffff) + new_word;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  uint16_t checksum = static_cast<uint16_t>(~sum);
  p[10] = static_cast<uint8_t>(checksum >> 8);
  p[11] = static_cast<uint8_t>(checksum);
  return true;
}

}  // namespace overlay::wire
