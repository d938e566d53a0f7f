#include "generate.h"

#include <algorithm>
#include <cstring>

#include "invariants.h"
#include "send.h"

namespace overlay::fuzz {

namespace {

// Lengths where the parsers' checks change their answer.
const size_t kEdgeLengths[] = {0, 1, 2, 3, 4, 5, 7, 8, 19, 20, 21, 23, 24, 31, 32, 33, 39, 40, 41, 43, 44, 45, 47,
                               48, 60, 63, 64, 65, 76, 91, 92, 93, 147, 148, 149};
const uint8_t kHopLimits[] = {0, 1, 1, 2, 2, 3, 64, 255};

void PutBe16(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

const char* ShapeName(Shape shape) {
  static const char* kNames[kShapes] = {"random",   "handshake", "stun",   "overlay",
                                        "transport", "envelope", "mutated", "tun"};
  return kNames[static_cast<size_t>(shape)];
}

Shape Generator::Next(World& world, Bytes* out) {
  size_t r = rng_.Below(22);
  if (r >= 20) {
    TunPacket(world, out);
    return Shape::kTunPacket;
  }
  if (r < 2) {
    Random(out);
    return Shape::kRandom;
  }
  if (r < 4) {
    Handshake(world, out);
    return Shape::kHandshake;
  }
  if (r < 6) {
    Stun(out);
    return Shape::kStun;
  }
  if (r < 7) {
    Overlay(world, out);
    return Shape::kOverlay;
  }
  if (r < 14) {
    Transport(world, rng_.OneIn(8) ? nullptr : &rng_.Pick(world.sessions), out);
    return Shape::kTransport;
  }
  Envelope(world, 0, out);
  return Shape::kEnvelope;
}

void Generator::Random(Bytes* out) {
  size_t len = rng_.OneIn(2) ? rng_.Pick(kEdgeLengths) : rng_.Below(rng_.OneIn(16) ? 70000 : 1600);
  out->resize(len);
  rng_.Fill(out->data(), len);
  static const uint8_t kTypes[] = {0, 1, 2, 3, 4, 5, 0x7f, 0x80, 0x84, 0x85, 0xff};
  if (len > 0 && rng_.OneIn(2)) (*out)[0] = rng_.Pick(kTypes);
  if (len > 3 && rng_.OneIn(2)) (*out)[1] = (*out)[2] = (*out)[3] = 0;
}

void Generator::Handshake(World& world, Bytes* out) {
  static const uint8_t kTypes[] = {wire::kInitiation, wire::kResponse, wire::kCookieReply};
  static const size_t kSizes[] = {wire::kInitiationSize, wire::kResponseSize, wire::kCookieReplySize};
  size_t which = rng_.Below(3);
  size_t len = kSizes[rng_.OneIn(4) ? rng_.Below(3) : which];
  if (rng_.OneIn(4)) len = len + rng_.Below(3) - 1;
  out->resize(len);
  rng_.Fill(out->data(), len);
  if (len > 0) (*out)[0] = kTypes[which];
  for (size_t i = 1; i < 4 && i < len; i++) (*out)[i] = rng_.OneIn(10) ? rng_.Byte() : 0;
  if (which == 2 || len < HandshakeScreen::kMacsSize) return;
  // mac1 with our key, mostly (whitepaper §5.4.4); mac2 with the cookie its source was given, if
  // any, mostly (§5.4.7). Often from the source that was last given one, as a sender that
  // retries would, so that one source's budget is spent.
  if (world.cookie_source >= 0 && rng_.OneIn(2)) world.from = static_cast<size_t>(world.cookie_source);
  uint8_t* p = out->data();
  uint8_t* mac1 = p + len - HandshakeScreen::kMacsSize;
  uint8_t* mac2 = mac1 + kMacSize;
  bool with_mac1 = !rng_.OneIn(6);
  bool with_mac2 = world.has_cookie[world.from] && !rng_.OneIn(6);
  if (with_mac1 && !mac_.Compute(world.mac1_key, sizeof world.mac1_key, p, len - HandshakeScreen::kMacsSize, nullptr,
                                 0, mac1)) {
    Fail("BLAKE2s MAC failed");
  }
  if (!with_mac2) {
    if (rng_.OneIn(2)) std::memset(mac2, 0, kMacSize);
    return;
  }
  if (!mac_.Compute(world.cookies[world.from].data(), kMacSize, p, len - kMacSize, nullptr, 0, mac2))
    Fail("BLAKE2s MAC failed");
}

void Generator::Stun(Bytes* out) {
  size_t body = rng_.OneIn(3) ? rng_.Below(8) * 4 : rng_.Below(600);
  size_t len = rng_.OneIn(8) ? rng_.Pick(kEdgeLengths) : wire::kStunHeader + body;
  out->resize(len);
  rng_.Fill(out->data(), len);
  uint8_t* p = out->data();
  static const uint8_t kFirst[] = {0x00, 0x01, 0x01, 0x01, 0x11, 0x3f, 0x40, 0xc0};
  if (len >= 1) p[0] = rng_.Pick(kFirst);
  size_t field = len >= 20 ? len - 20 : 0;
  static const int kSkew[] = {0, 0, 0, 0, 1, -1, 4, -4, 2};
  static const size_t kFields[] = {0, 4, 0xfffc, 0xffff};
  size_t length = rng_.OneIn(10) ? rng_.Pick(kFields) : field + rng_.Pick(kSkew);
  if (len >= 4) PutBe16(p + 2, length & 0xffff);
  if (len >= 8 && !rng_.OneIn(8)) wire::WriteLe32(p + 4, 0x42a41221);  // the cookie, big-endian on the wire
}

void Generator::Overlay(World& world, Bytes* out) {
  size_t r = rng_.Below(8);
  if (r < 5) {
    Sealed(world, out);
    return;
  }
  size_t len = rng_.OneIn(4) ? rng_.Pick(kEdgeLengths) : rng_.Below(1400);
  out->resize(len);
  rng_.Fill(out->data(), len);
  if (len > 0) (*out)[0] = r < 7 ? admission::kJoinQuery : static_cast<uint8_t>(0x80 | rng_.Byte());
}

// A sealed message (core/overlayWire/sealed.ts) as admission.h sees it: the sender's key at
// byte 1, mac1 at the end; the box between is opaque here.
void Generator::Sealed(World& world, Bytes* out) {
  static const size_t kLengths[] = {admission::kSealedMin - 1, admission::kSealedMin, admission::kSealedMin + 1,
                                    admission::kSealedMax - 1, admission::kSealedMax, admission::kSealedMax + 1};
  size_t len = rng_.OneIn(5) ? rng_.Pick(kLengths) : admission::kSealedMin + rng_.Below(400);
  out->resize(len);
  rng_.Fill(out->data(), len);
  uint8_t* p = out->data();
  p[0] = admission::kSealed;
  if (len < admission::kSealedMin) return;
  // A member's key, mostly from its own endpoint; or anyone's.
  if (!rng_.OneIn(4)) {
    const FuzzPeer& member = rng_.Pick(world.peers);
    std::memcpy(p + admission::kSenderKeyAt, member.public_key, admission::kKeySize);
    if (member.endpoint >= 0 && !rng_.OneIn(4)) world.from = static_cast<size_t>(member.endpoint);
  }
  if (rng_.OneIn(6)) return;  // not made with our key
  unsigned int mac_len = 0;
  uint8_t mac[EVP_MAX_MD_SIZE];
  if (HMAC(EVP_sha256(), world.sealed_key, sizeof world.sealed_key, p, len - admission::kMac1Size, mac, &mac_len) ==
      nullptr)
    Fail("HMAC-SHA256 failed");
  std::memcpy(p + len - admission::kMac1Size, mac, admission::kMac1Size);
}

uint64_t Generator::Counter(uint64_t* next) {
  uint64_t c;
  switch (rng_.Below(24)) {
    case 0:  // a replay, or an old counter still inside the window or just outside it
      return *next - 1 - rng_.Below(std::min<uint64_t>(*next, ReplayWindow::kBits + 64) + 1);
    case 1:  // a jump ahead
      c = *next + ReplayWindow::kWindow + rng_.Below(3 * ReplayWindow::kBits);
      *next = c + 1;
      return c;
    case 2:
      c = *next + rng_.Below(2 * ReplayWindow::kBits);
      *next = std::max(*next, c + 1);
      return c;
    case 3:
      // Anywhere, and the sender goes on from there; rarely at the end of counters, where the
      // window refuses all that follow: that key is spent until the next world.
      c = rng_.OneIn(512) ? ReplayWindow::kRejectAfterMessages - 2 + rng_.Below(4) : rng_.Next();
      *next = std::max(*next, c + 1);
      return c;
    default:
      return (*next)++;
  }
}

void Generator::Transport(World& world, FuzzSession* session, Bytes* out) {
  Bytes plain;
  size_t r = rng_.Below(16);
  if (r == 0) {
    // a keepalive: empty
  } else if (r < 5 && !corpus_.Empty()) {
    plain = corpus_.Packet(rng_);
    Mutate(rng_, corpus_, &plain);
    plain.resize(std::min(plain.size(), world.mtu + 64));
  } else {
    Packet(world, session ? session->peer : static_cast<PeerId>(rng_.Below(8)), &plain);
    corpus_.AddPacket(plain);
  }
  uint8_t key[kKeySize];
  if (session && !rng_.OneIn(12)) {
    std::memcpy(key, session->recv_key, kKeySize);
  } else {
    rng_.Fill(key, kKeySize);
  }
  uint32_t receiver = session ? session->index : static_cast<uint32_t>(rng_.Next());
  uint64_t counter = session ? Counter(&session->peer_counter) : rng_.Next();
  if (rng_.OneIn(4)) {
    // Unpadded, as a sender that pads differently (or not at all) would send it.
    out->assign(wire::kTransportHeader + plain.size() + wire::kTag, 0);
    wire::WriteTransportHeader(out->data(), receiver, counter);
    if (!aead_.Seal(key, counter, plain.data(), plain.size(), out->data() + wire::kTransportHeader))
      Fail("Seal failed on %zu bytes", plain.size());
    return;
  }
  out->assign(wire::kTransportHeader + wire::PaddedLength(plain.size(), world.mtu) + wire::kTag, 0);
  std::copy(plain.begin(), plain.end(), out->begin() + wire::kTransportHeader);
  size_t n = SealTransport(aead_, key, receiver, counter, out->data(), plain.size(), world.mtu);
  if (n != out->size()) Fail("SealTransport made %zu bytes, not %zu", n, out->size());
}

void Generator::Envelope(World& world, int depth, Bytes* out) {
  FuzzRelayKey* signer = world.relays.empty() || rng_.OneIn(10) ? nullptr : &rng_.Pick(world.relays);
  FuzzRelayKey* other = world.relays.empty() || rng_.OneIn(10) ? nullptr : &rng_.Pick(world.relays);
  uint8_t flags = rng_.OneIn(16) ? rng_.Byte() : rng_.OneIn(2) ? wire::kEnvelopeToRelay : wire::kEnvelopeFromRelay;
  uint64_t mac_tag = signer ? signer->remote_tag : rng_.Next();
  uint64_t other_tag = other ? other->remote_tag : rng_.Next();
  uint64_t counter = signer ? Counter(&signer->peer_counter) : rng_.Next();

  // Which of the signer's keys: its current epoch's mostly, the one before a restart, or a key id
  // that names neither.
  const uint8_t* signer_key = signer ? signer->key : nullptr;
  uint16_t key_id = signer ? signer->key_id : static_cast<uint16_t>(rng_.Next());
  if (signer && signer->has_stale && rng_.OneIn(8)) {
    signer_key = signer->stale_key;
    key_id = signer->stale_key_id;
  } else if (rng_.OneIn(30)) {
    key_id = static_cast<uint16_t>(rng_.Next());
  }

  Bytes inner;
  size_t r = rng_.Below(12);
  if (r < 6) {
    // From the member the envelope names as the original sender: its session's transport.
    FuzzPeer* sender = other ? world.FindPeer(other->peer) : nullptr;
    Transport(world, sender && !rng_.OneIn(8) ? &world.sessions[sender->session] : &rng_.Pick(world.sessions),
              &inner);
  } else if (r < 7 && depth < 2) {
    Envelope(world, depth + 1, &inner);
  } else if (r < 8) {
    Handshake(world, &inner);
  } else if (r < 9) {
    Stun(&inner);
  } else if (r < 10) {
    Overlay(world, &inner);
  } else if (r < 11 && !corpus_.Empty()) {
    inner = corpus_.Datagram(rng_);
    Mutate(rng_, corpus_, &inner);
  } else {
    inner.resize(rng_.OneIn(2) ? 0 : rng_.Below(64));
    rng_.Fill(inner.data(), inner.size());
  }

  out->assign(wire::kEnvelopeHeader + inner.size(), 0);
  uint8_t* p = out->data();
  wire::WriteEnvelopeHeader(p, flags, key_id, mac_tag, other_tag, counter);
  std::copy(inner.begin(), inner.end(), out->begin() + wire::kEnvelopeHeader);
  uint8_t key[kKeySize];
  uint32_t direction = static_cast<uint32_t>(rng_.Below(2));
  if (signer && !rng_.OneIn(10)) {
    std::memcpy(key, signer_key, kKeySize);
    direction = EnvelopeDirection(signer->remote_tag, signer->local_tag);
  } else {
    rng_.Fill(key, kKeySize);
  }
  if (!aead_.Mac(key, direction, counter, p, wire::kEnvelopeAad, p + wire::kEnvelopeHeader, inner.size(),
                 p + wire::kEnvelopeAad)) {
    Fail("Mac failed on %zu bytes", inner.size());
  }
}

void Generator::TunPacket(World& world, Bytes* out) {
  if (rng_.OneIn(3) && !corpus_.Empty()) {
    *out = corpus_.Packet(rng_);
    Mutate(rng_, corpus_, out);
    return;
  }
  Packet(world, kNoPeer, out);  // from us: no source of a peer's, to a peer's address mostly
}

void Generator::Packet(World& world, PeerId from, Bytes* out) {
  size_t r = rng_.Below(20);
  if (r < 9) {
    Ipv4(world, from, out);
  } else if (r < 18) {
    Ipv6(world, from, out);
  } else {
    out->resize(rng_.OneIn(2) ? rng_.Pick(kEdgeLengths) : rng_.Below(world.mtu));
    rng_.Fill(out->data(), out->size());
  }
}

size_t Generator::PayloadLength(size_t room) {
  switch (rng_.Below(6)) {
    case 0:
      return 0;
    case 1:
      return room;  // a full-MTU packet
    case 2:
      return room + 1 + rng_.Below(64);  // past the MTU: padding is then not capped
    default:
      return rng_.Below(std::min<size_t>(room, 200) + 1);
  }
}

void Generator::Address(World& world, PeerId from, bool source, int bytes, uint8_t* out) {
  size_t r = rng_.Below(10);
  if (source && r < 8 && world.AddressOf(rng_, from, bytes, out)) return;
  // A destination: another peer's (forwarded when either is a router), or anyone's.
  if (!source && r < 5 && world.AddressOf(rng_, rng_.Pick(world.peers).id, bytes, out)) return;
  rng_.Fill(out, bytes);
}

void Generator::Ipv4(World& world, PeerId from, Bytes* out) {
  size_t ihl = rng_.OneIn(10) ? rng_.Below(16) : rng_.OneIn(5) ? 6 + rng_.Below(10) : 5;
  size_t header = std::max<size_t>(ihl * 4, 20);
  size_t payload = PayloadLength(world.mtu > header ? world.mtu - header : 0);
  out->resize(header + payload);
  uint8_t* p = out->data();
  rng_.Fill(p, out->size());
  p[0] = static_cast<uint8_t>(0x40 | ihl);
  static const size_t kTotals[] = {0, 1, 19, 20, 21, 65535};
  size_t total = out->size();
  if (rng_.OneIn(5)) total = rng_.OneIn(2) ? rng_.Pick(kTotals) : total + rng_.Below(5) - 2;
  PutBe16(p + 2, total & 0xffff);
  p[8] = rng_.Pick(kHopLimits);
  Address(world, from, true, 4, p + 12);
  Address(world, from, false, 4, p + 16);
  p[10] = p[11] = 0;
  if (!rng_.OneIn(10)) PutBe16(p + 10, static_cast<uint16_t>(~OnesSum(p, std::min(header, out->size()))));
  if (rng_.OneIn(16)) out->resize(rng_.Below(out->size() + 1));
}

void Generator::Ipv6(World& world, PeerId from, Bytes* out) {
  size_t payload = PayloadLength(world.mtu > 40 ? world.mtu - 40 : 0);
  out->resize(40 + payload);
  uint8_t* p = out->data();
  rng_.Fill(p, out->size());
  p[0] = static_cast<uint8_t>(0x60 | (p[0] & 0x0f));
  size_t length = payload;
  static const size_t kLengths[] = {0, 1, 65535};
  if (rng_.OneIn(5)) length = rng_.OneIn(2) ? rng_.Pick(kLengths) : length + rng_.Below(5) - 2;
  PutBe16(p + 4, length & 0xffff);
  p[7] = rng_.Pick(kHopLimits);
  Address(world, from, true, 16, p + 8);
  Address(world, from, false, 16, p + 24);
  if (rng_.OneIn(16)) out->resize(rng_.Below(out->size() + 1));
}

}  // namespace overlay::fuzz
