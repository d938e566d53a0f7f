#include "receive.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "invariants.h"

namespace overlay::fuzz {

Receiver::Receiver(World& world, const Parsers& parsers, Counts& counts)
    : w_(world), parsers_(parsers), counts_(counts), slot_(world.receive_slot.size, world.receive_slot.head) {}

void Receiver::Datagram(const uint8_t* data, size_t len) {
  size_t n = len;
  if (n > w_.receive_slot.capacity) {
    counts_.truncated++;  // recvmmsg says MSG_TRUNC; the engine sees length 0
    n = 0;
  }
  uint8_t* p = slot_.Load(data, n);
  if (wire::IsEnvelope(p, n)) {
    Envelope(p, n);
    return;
  }
  Inner(p, n, kNoPeer, kNoPeer);
}

void Receiver::Envelope(uint8_t* p, size_t n) {
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
  if (h.key_id != in->key_id) {
    counts_.envelope_stale_key++;
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
    uint64_t counter = w_.relay_counter++;
    uint32_t direction = EnvelopeDirection(other->local_tag, other->remote_tag);
    wire::WriteEnvelopeHeader(p, wire::kEnvelopeFromRelay, other->key_id, other->local_tag, in->remote_tag, counter);
    if (!aead_.Mac(other->key, direction, counter, p, wire::kEnvelopeAad, inner, h.inner, mac))
      Fail("Mac failed on a %zu-byte inner datagram", h.inner);
    ReadAll(p, n);
    if (!aead_.VerifyMac(other->key, direction, counter, p, wire::kEnvelopeAad, inner, h.inner, mac))
      Fail("a re-wrapped envelope does not verify");
    counts_.envelope_forwarded++;
    return;
  }
  counts_.envelope_opened++;
  if (wire::IsEnvelope(inner, h.inner)) {
    counts_.envelope_nested++;
    return;
  }
  Inner(inner, h.inner, in->peer, other->peer);
}

void Receiver::Inner(uint8_t* p, size_t n, PeerId via, PeerId sender) {
  wire::TransportHeader h{};
  bool ok = parsers_.parse_transport(p, n, &h);
  ExpectTransport(p, n, ok, h);
  if (!ok) {
    Control(p, n, via, sender);
    return;
  }
  Transport(p, h, via, sender);
}

void Receiver::Transport(uint8_t* p, const wire::TransportHeader& h, PeerId via, PeerId sender) {
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
  if (CheckedLookup(w_, counts_, inner.src, inner.addr_bytes) != s->peer) {
    counts_.source_denied++;
    return;
  }
  // Engine::ForwardTarget: another peer's destination, and one of the two a router.
  const FuzzPeer* from = w_.FindPeer(s->peer);
  PeerId to_id = CheckedLookup(w_, counts_, inner.dst, inner.addr_bytes);
  FuzzPeer* to = to_id == kNoPeer || to_id == s->peer ? nullptr : w_.FindPeer(to_id);
  if (to && (from->forward || to->forward)) {
    Forward(p, *to, inner);
    return;
  }
  ReadAll(plain, inner.length);
  counts_.delivered++;
}

void Receiver::Forward(uint8_t* p, FuzzPeer& to, const wire::InnerPacket& inner) {
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
  if (SealFor(w_, aead_, slot_, to, p, inner.length)) {
    counts_.forwarded_relayed++;
  } else {
    counts_.forwarded_direct++;
  }
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

}  // namespace overlay::fuzz
