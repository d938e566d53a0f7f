// Deliberately broken twins of the data path's parsers and buffer layouts, for the driver's self-test only
// (--inject NAME): each is a bug of a kind the harness exists to catch, and the run must fail on
// it, which shows a real bug of that kind would fail it too. They live here, never in
// native/src, and only the --inject flag reaches them.
#include <cstring>

#include "parsers.h"

namespace overlay::fuzz {

namespace {

// Peeks at the STUN magic cookie before checking the length: reads past a datagram shorter than
// 8 bytes. Only AddressSanitizer can see it; the answer is still right.
admission::Kind ClassifyPeeksEarly(const uint8_t* p, size_t len, bool relayed) {
  if (!relayed && len >= 1 && (p[0] & 0xc0) == 0) {
    uint32_t cookie = uint32_t(p[4]) << 24 | uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7];
    if (cookie == wire::kStunMagicCookie && wire::IsStunMessage(p, len)) return admission::Kind::kStun;
  }
  return admission::Classify(p, len, relayed);
}

// The envelope layout before key ids: bytes 2..3 reserved, must be zero. Every envelope of a
// member whose key id is not 0 would be refused as malformed; the layout's rule catches it.
bool ParseEnvelopeZeroKeyId(const uint8_t* p, size_t len, wire::EnvelopeHeader* out) {
  return wire::ParseEnvelope(p, len, out) && out->key_id == 0;
}

// mac1 over one byte too many (the first byte of mac1 itself): no real sealed message passes.
bool SealedMac1OverLong(const uint8_t* key, const uint8_t* p, size_t len) {
  if (len < admission::kMac1Size) return false;
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key, admission::kMac1KeySize, p, len - admission::kMac1Size + 1, mac, &mac_len) == nullptr)
    return false;
  return std::memcmp(mac, p + len - admission::kMac1Size, admission::kMac1Size) == 0;
}

// Reads the counter a byte at a time with the bytes promoted to int: from the fifth byte on,
// the shift is wider than an int, which is undefined. UBSan reports it at once; the wrong value
// it yields on x86 would only meet the invariants after it.
bool ParseEnvelopeIntShift(const uint8_t* p, size_t len, wire::EnvelopeHeader* out) {
  if (!wire::ParseEnvelope(p, len, out)) return false;
  uint64_t counter = 0;
  for (int i = 0; i < 8; i++) counter |= static_cast<uint64_t>(p[20 + i] << (8 * i));
  out->counter = counter;
  return true;
}

// Trusts the IPv4 total length without comparing it to what was decrypted.
bool ParseInnerTrustsLength(const uint8_t* p, size_t len, wire::InnerPacket* out) {
  if (len >= 20 && p[0] >> 4 == 4 && (p[0] & 0x0f) >= 5) {
    size_t total = size_t(p[2]) << 8 | p[3];
    if (total < 20) return false;
    *out = {total, 4, p + 12, p + 16};
    return true;
  }
  return wire::ParseInner(p, len, out);
}

// Updates the IPv4 checksum without folding the carry back in (RFC 1624 needs it).
bool DecrementHopDropsCarry(uint8_t* p, const wire::InnerPacket& inner) {
  if (inner.addr_bytes == 16) return wire::DecrementHopLimit(p, inner);
  if (p[8] <= 1) return false;
  uint32_t old_word = uint32_t(p[8]) << 8 | p[9];
  p[8]--;
  uint32_t new_word = uint32_t(p[8]) << 8 | p[9];
  uint32_t sum = (~(uint32_t(p[10]) << 8 | p[11]) & 0xffff) + (~old_word & 0xffff) + new_word;
  uint16_t checksum = static_cast<uint16_t>(~sum);
  p[10] = static_cast<uint8_t>(checksum >> 8);
  p[11] = static_cast<uint8_t>(checksum);
  return true;
}

// Forgets the room behind the datagram that a forwarded packet's padding and tag may need.
wire::ReceiveSlot SlotWithoutRoom(size_t mtu) {
  wire::ReceiveSlot slot = wire::ReceiveSlotFor(mtu);
  slot.size = slot.head + slot.capacity;
  return slot;
}

// Leaves one byte too few behind a packet read from the TUN: sealing a full-MTU packet writes
// the last byte of its tag past the slot. (The real slot has slack there: the read's spare
// byte and the padding room, since padding never passes the MTU.)
wire::SendSlot SendSlotOneShort(size_t mtu) {
  wire::SendSlot slot = wire::SendSlotFor(mtu);
  slot.size = slot.packet + mtu + wire::kTag - 1;
  return slot;
}

}  // namespace

const char* BrokenNames() {
  return "stun-peeks-early, envelope-int-shift, envelope-zero-key-id, sealed-mac1-span, inner-trusts-length, "
         "hop-drops-carry, slot-without-room, send-slot-one-short";
}

bool InjectBroken(const std::string& name, Parsers* parsers) {
  if (name == "stun-peeks-early") {
    parsers->classify = ClassifyPeeksEarly;
  } else if (name == "envelope-int-shift") {
    parsers->parse_envelope = ParseEnvelopeIntShift;
  } else if (name == "envelope-zero-key-id") {
    parsers->parse_envelope = ParseEnvelopeZeroKeyId;
  } else if (name == "sealed-mac1-span") {
    parsers->sealed_mac1_ok = SealedMac1OverLong;
  } else if (name == "inner-trusts-length") {
    parsers->parse_inner = ParseInnerTrustsLength;
  } else if (name == "hop-drops-carry") {
    parsers->decrement_hop = DecrementHopDropsCarry;
  } else if (name == "slot-without-room") {
    parsers->receive_slot = SlotWithoutRoom;
  } else if (name == "send-slot-one-short") {
    parsers->send_slot = SendSlotOneShort;
  } else {
    return false;
  }
  return true;
}

}  // namespace overlay::fuzz
