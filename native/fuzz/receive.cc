#include "receive.h"

#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "invariants.h"

namespace overlay::fuzz {

namespace {

volatile uint64_t g_sink;

// Reads every byte, as write(2) to the TUN, sendmmsg or the copy up to JavaScript would.
void ReadAll(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += p[i];
  g_sink = g_sink + sum;
}

}  // namespace

// The receive slot, one heap block reused for every datagram, with everything but the current
// datagram poisoned (see receive.h).
class Receiver::Slot {
 public:
  explicit Slot(const wire::ReceiveSlot& layout) {
    // AddressSanitizer poisons in 8-byte granules and can leave a granule's tail, not its head,
    // addressable: so the datagram starts on a granule boundary, and the slot ends at the end
    // of its heap block, where the allocator's own redzone follows.
    shift_ = (8 - layout.head % 8) % 8;
    total_ = shift_ + layout.size;
    block_ = new uint8_t[total_];
    datagram_ = block_ + shift_ + layout.head;
  }
  ~Slot() {
    ASAN_UNPOISON_MEMORY_REGION(block_, total_);
    delete[] block_;
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  // As recvmmsg leaves it: the datagram at the head, the room around it poisoned.
  uint8_t* Load(const uint8_t* data, size_t n) {
    ASAN_UNPOISON_MEMORY_REGION(block_, total_);
    if (n > 0) std::memcpy(datagram_, data, n);
    len_ = n;
    ASAN_POISON_MEMORY_REGION(block_, datagram_ - block_);
    ASAN_POISON_MEMORY_REGION(datagram_ + n, block_ + total_ - (datagram_ + n));
    return datagram_;
  }
  // Where the engine writes beyond what arrived: padding and tag behind, an envelope in front.
  void WritableBehind() { ASAN_UNPOISON_MEMORY_REGION(datagram_ + len_, block_ + total_ - (datagram_ + len_)); }
  void WritableInFront() { ASAN_UNPOISON_MEMORY_REGION(block_ + shift_, datagram_ - (block_ + shift_)); }

 private:
  size_t len_ = 0;
  size_t shift_;
  size_t total_;
  uint8_t* block_;
  uint8_t* datagram_;
};

Receiver::Receiver(World& world, const Parsers& parsers, Counts& counts)
    : w_(world), parsers_(parsers), counts_(counts), slot_(std::make_unique<Slot>(world.slot)) {}

Receiver::~Receiver() = default;

void Receiver::Datagram(const uint8_t* data, size_t len) {
  size_t n = len;
  if (n > w_.slot.capacity) {
    counts_.truncated++;  // recvmmsg says MSG_TRUNC; the engine sees length 0
    n = 0;
  }
  Slot& slot = *slot_;
  uint8_t* p = slot.Load(data, n);
  wire::Kind kind = Classify(p, n, false);
  if (kind == wire::Kind::kEnvelope) {
    Envelope(slot, p, n);
    return;
  }
  Classified(slot, p, n, kind, kNoPeer, kNoPeer);
}

wire::Kind Receiver::Classify(const uint8_t* p, size_t n, bool relayed) {
  counts_.classified++;
  wire::Kind kind = parsers_.classify(p, n, relayed);
  ExpectKind(p, n, relayed, kind);
  return kind;
}

void Receiver::Envelope(Slot& slot, uint8_t* p, size_t n) {
  counts_.envelopes++;
  wire::EnvelopeHeader h{};
  bool ok = parsers_.parse_envelope(p, n, &h);
  ExpectEnvelope(p, n, ok, h);
  if (!ok) {
    counts_.envelope_malformed++;
    return;
  }
  bool to_relay = h.flags == wire::kEnvelopeToRelay;
  if (to_relay && !w_.relay_service) {
    counts_.envelope_disabled++;
    return;
  }
  FuzzRelayKey* in = w_.FindRelay(h.mac_tag);
  if (!in) {
    counts_.envelope_unknown_tag++;
    return;
  }
  if (!Check(in->window, h.counter)) {
    counts_.envelope_replay++;
    return;
  }
  uint8_t* inner = p + wire::kEnvelopeHeader;
  uint8_t* mac = p + wire::kEnvelopeAad;
  if (!aead_.VerifyMac(in->key, EnvelopeDirection(in->remote_tag, in->local_tag), h.counter, p, wire::kEnvelopeAad,
                       inner, h.inner, mac)) {
    counts_.envelope_bad_mac++;
    return;
  }
  if (!Accept(in->window, h.counter)) {
    counts_.envelope_replay++;
    return;
  }
  FuzzRelayKey* other = w_.FindRelay(h.other_tag);
  if (!other || other == in) {
    counts_.envelope_unknown_tag++;
    return;
  }
  if (to_relay) {
    // Re-wrapped in place for the member it names (relay.cc), which must then verify it.
    uint64_t counter = other->send_counter++;
    uint32_t direction = EnvelopeDirection(other->local_tag, other->remote_tag);
    wire::WriteEnvelopeHeader(p, wire::kEnvelopeFromRelay, other->local_tag, in->remote_tag, counter);
    if (!aead_.Mac(other->key, direction, counter, p, wire::kEnvelopeAad, inner, h.inner, mac))
      Fail("Mac failed on a %zu-byte inner datagram", h.inner);
    ReadAll(p, n);
    if (!aead_.VerifyMac(other->key, direction, counter, p, wire::kEnvelopeAad, inner, h.inner, mac))
      Fail("a re-wrapped envelope does not verify");
    counts_.envelope_forwarded++;
    return;
  }
  counts_.envelope_opened++;
  wire::Kind kind = Classify(inner, h.inner, true);
  if (kind == wire::Kind::kEnvelope) {
    counts_.envelope_nested++;
    return;
  }
  Classified(slot, inner, h.inner, kind, in->peer, other->peer);
}

void Receiver::Classified(Slot& slot, uint8_t* p, size_t n, wire::Kind kind, PeerId via, PeerId sender) {
  if (wire::GoesUp(kind)) {
    counts_.up++;
    if (kind == wire::Kind::kStun) counts_.stun++;
    std::vector<uint8_t> up(p, p + n);
    ReadAll(up.data(), up.size());
    return;
  }
  wire::TransportHeader h{};
  bool ok = parsers_.parse_transport(p, n, &h);
  ExpectTransport(p, n, kind, ok, h);
  if (!ok) {
    counts_.junk++;
    return;
  }
  Transport(slot, p, h, via, sender);
}

void Receiver::Transport(Slot& slot, uint8_t* p, const wire::TransportHeader& h, PeerId via, PeerId sender) {
  counts_.transports++;
  FuzzSession* s = w_.FindSession(h.receiver);
  if (!s) {
    counts_.transport_unknown_index++;
    return;
  }
  if (via != kNoPeer && s->peer != sender) {
    counts_.transport_wrong_sender++;
    return;
  }
  if (!Check(s->window, h.counter)) {
    counts_.transport_replay++;
    return;
  }
  uint8_t* plain = p + wire::kTransportHeader;
  if (!aead_.Open(s->recv_key, h.counter, plain, h.body, plain)) {
    counts_.transport_auth_failed++;
    return;
  }
  if (!Accept(s->window, h.counter)) {
    counts_.transport_replay++;
    return;
  }
  counts_.transport_opened++;
  if (h.body == 0) {
    counts_.keepalives++;
    return;
  }
  wire::InnerPacket inner{};
  bool ok = parsers_.parse_inner(plain, h.body, &inner);
  ExpectInner(plain, h.body, ok, inner);
  if (!ok) {
    counts_.inner_bad++;
    return;
  }
  (inner.addr_bytes == 4 ? counts_.inner_v4 : counts_.inner_v6)++;
  // Cryptokey routing (whitepaper §2): the source must be the sender's.
  if (Lookup(inner.src, inner.addr_bytes) != s->peer) {
    counts_.source_denied++;
    return;
  }
  // Engine::ForwardTarget: another peer's destination, and one of the two a router.
  const FuzzPeer* from = w_.FindPeer(s->peer);
  PeerId to_id = Lookup(inner.dst, inner.addr_bytes);
  FuzzPeer* to = to_id == kNoPeer || to_id == s->peer ? nullptr : w_.FindPeer(to_id);
  if (to && (from->forward || to->forward)) {
    Forward(slot, p, *to, inner);
    return;
  }
  ReadAll(plain, inner.length);
  counts_.delivered++;
}

void Receiver::Forward(Slot& slot, uint8_t* p, FuzzPeer& to, const wire::InnerPacket& inner) {
  uint8_t* plain = p + wire::kTransportHeader;
  uint8_t before[60];
  size_t copied = std::min<size_t>(inner.length, sizeof before);
  std::memcpy(before, plain, copied);
  bool ok = parsers_.decrement_hop(plain, inner);
  ExpectHop(before, copied, plain, inner, ok);
  if (!ok) {
    counts_.hop_expired++;
    return;
  }
  counts_.hop_decremented++;
  std::vector<uint8_t> sent(plain, plain + inner.length);
  // From here the engine writes past what arrived (Engine::SealForPeer, Engine::Address).
  slot.WritableBehind();
  FuzzSession& s = w_.sessions[to.session];
  uint64_t counter = s.send_counter++;
  size_t out = SealTransport(aead_, s.send_key, s.remote_index, counter, p, inner.length, w_.mtu);
  if (out == 0) Fail("SealTransport failed on a %zu-byte packet", inner.length);
  uint8_t* start = p;
  size_t len = out;
  if (to.relay_via != kNoPeer) {
    slot.WritableInFront();
    FuzzRelayKey& relay = w_.relays[w_.FindPeer(to.relay_via)->relay];
    FuzzRelayKey& dest = w_.relays[to.relay];
    uint64_t relay_counter = relay.send_counter++;
    start = p - wire::kEnvelopeHeader;
    wire::WriteEnvelopeHeader(start, wire::kEnvelopeToRelay, relay.local_tag, dest.remote_tag, relay_counter);
    if (!aead_.Mac(relay.key, EnvelopeDirection(relay.local_tag, relay.remote_tag), relay_counter, start,
                   wire::kEnvelopeAad, p, out, start + wire::kEnvelopeAad)) {
      Fail("Mac failed on a %zu-byte datagram", out);
    }
    len += wire::kEnvelopeHeader;
    counts_.forwarded_relayed++;
  } else {
    counts_.forwarded_direct++;
  }
  ReadAll(start, len);
  // The peer it goes to opens exactly the packet, zero padding after it.
  if (out < wire::kTransportMin || wire::ReadLe32(p + 4) != s.remote_index || wire::ReadLe64(p + 8) != counter)
    Fail("SealTransport wrote a bad header or length %zu", out);
  size_t body = out - wire::kTransportMin;
  std::vector<uint8_t> opened(body + 1);
  if (!aead_.Open(s.send_key, counter, plain, body, opened.data()))
    Fail("a forwarded packet does not open with its session key");
  if (body < inner.length || std::memcmp(opened.data(), sent.data(), inner.length) != 0)
    Fail("a forwarded packet opens to other bytes than were sealed");
  for (size_t i = inner.length; i < body; i++)
    if (opened[i] != 0) Fail("padding byte %zu of a forwarded packet is not zero", i);
}

bool Receiver::Check(CheckedWindow& window, uint64_t counter) {
  counts_.window_checks++;
  bool real = window.real.Check(counter);
  bool model = window.model.Check(counter);
  if (real != model)
    Fail("ReplayWindow::Check(%llu) said %d, the model %d", static_cast<unsigned long long>(counter), real, model);
  return real;
}

bool Receiver::Accept(CheckedWindow& window, uint64_t counter) {
  counts_.window_checks++;
  bool real = window.real.Accept(counter);
  bool model = window.model.Accept(counter);
  if (real != model)
    Fail("ReplayWindow::Accept(%llu) said %d, the model %d", static_cast<unsigned long long>(counter), real, model);
  return real;
}

PeerId Receiver::Lookup(const uint8_t* addr, int bytes) {
  counts_.route_lookups++;
  PeerId real = w_.routes.Lookup(addr, bytes);
  PeerId model = w_.ModelLookup(addr, bytes);
  if (real != model) Fail("AllowedIps::Lookup said peer %u, the model %u", real, model);
  return real;
}

}  // namespace overlay::fuzz
