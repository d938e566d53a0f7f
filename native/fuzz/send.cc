#include "send.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "invariants.h"

namespace overlay::fuzz {

namespace {
volatile uint64_t g_sink;
}  // namespace

void ReadAll(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += p[i];
  g_sink = g_sink + sum;
}

bool SealFor(World& world, TransportAead& aead, SlotBuffer& buffer, FuzzPeer& to, uint8_t* slot, size_t len) {
  uint8_t* plain = slot + wire::kTransportHeader;
  std::vector<uint8_t> sent(plain, plain + len);
  buffer.WritableFrom(slot);
  buffer.WritableBehind();
  FuzzSession& s = world.sessions[to.session];
  uint64_t counter = s.send_counter++;
  size_t out = SealTransport(aead, s.send_key, s.remote_index, counter, slot, len, world.mtu);
  if (out == 0) Fail("SealTransport failed on a %zu-byte packet", len);
  uint8_t* start = slot;
  size_t total = out;
  bool relayed = to.relay_via != kNoPeer;
  if (relayed) {
    start = slot - wire::kEnvelopeHeader;
    buffer.WritableFrom(start);
    FuzzRelayKey& relay = world.relays[world.FindPeer(to.relay_via)->relay];
    FuzzRelayKey& dest = world.relays[to.relay];
    uint64_t relay_counter = world.relay_counter++;
    wire::WriteEnvelopeHeader(start, wire::kEnvelopeToRelay, relay.key_id, relay.local_tag, dest.remote_tag,
                              relay_counter);
    if (!aead.Mac(relay.key, EnvelopeDirection(relay.local_tag, relay.remote_tag), relay_counter, start,
                  wire::kEnvelopeAad, slot, out, start + wire::kEnvelopeAad)) {
      Fail("Mac failed on a %zu-byte datagram", out);
    }
    total += wire::kEnvelopeHeader;
  }
  ReadAll(start, total);
  // The peer it goes to opens exactly the packet, zero padding after it.
  if (out < wire::kTransportMin || wire::ReadLe32(slot + 4) != s.remote_index || wire::ReadLe64(slot + 8) != counter)
    Fail("SealTransport wrote a bad header or length %zu", out);
  size_t body = out - wire::kTransportMin;
  std::vector<uint8_t> opened(body + 1);
  if (!aead.Open(s.send_key, counter, plain, body, opened.data())) Fail("a sealed packet does not open with its key");
  if (body < len || std::memcmp(opened.data(), sent.data(), len) != 0)
    Fail("a sealed packet opens to other bytes than were sealed");
  for (size_t i = len; i < body; i++)
    if (opened[i] != 0) Fail("padding byte %zu of a sealed packet is not zero", i);
  return relayed;
}

PeerId CheckedLookup(World& world, Counts& counts, const uint8_t* addr, int bytes) {
  counts.route_lookups++;
  PeerId real = world.routes.Lookup(addr, bytes);
  PeerId model = world.ModelLookup(addr, bytes);
  if (real != model) Fail("AllowedIps::Lookup said peer %u, the model %u", real, model);
  return real;
}

void Sender::Packet(const uint8_t* data, size_t len) {
  counts_.tun_packets++;
  // read(2) on the TUN gives at most `capacity` bytes of a longer packet.
  size_t n = std::min(len, w_.send_slot.capacity);
  uint8_t* packet = slot_.Load(data, n);
  if (n > w_.mtu) {
    counts_.tun_oversized++;
    return;
  }
  wire::InnerPacket inner{};
  bool ok = parsers_.parse_inner(packet, n, &inner);
  ExpectInner(packet, n, ok, inner);
  if (!ok) {
    counts_.tun_bad++;
    return;
  }
  PeerId id = CheckedLookup(w_, counts_, inner.dst, inner.addr_bytes);
  FuzzPeer* peer = id == kNoPeer ? nullptr : w_.FindPeer(id);
  if (!peer) {
    counts_.tun_no_route++;
    return;
  }
  // The whole read is sealed, padding after the header's length included, as the engine does.
  if (SealFor(w_, aead_, slot_, *peer, packet - wire::kTransportHeader, n)) {
    counts_.tun_sealed_relayed++;
  } else {
    counts_.tun_sealed_direct++;
  }
}

}  // namespace overlay::fuzz
