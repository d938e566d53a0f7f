// Inputs for the data path: datagrams for the receive side, IP packets for the send side.
// Structured ones look right to each parser in turn (WireGuard handshakes with our mac1 or not,
// and under load with a mac2 made with the cookie the screen gave their source; transport
// messages sealed with the world's keys or not; sealed overlay messages with our mac1 or not,
// from members' keys or strangers', and join queries; relay envelopes with real or wrong MACs,
// of the current epoch or a stale one, nested ones too; STUN headers; IPv4 and IPv6 packets with
// edge lengths, IHLs, TTLs); the rest are mutations of earlier ones (mutate.cc). Deterministic
// given the Rng (and the driver's RAND_bytes, rand.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../src/datapath/aead.h"
#include "../src/datapath/blake2s_mac.h"
#include "rng.h"
#include "world.h"

namespace overlay::fuzz {

using Bytes = std::vector<uint8_t>;

// Datagrams from the network, but kTunPacket: an IP packet read from the TUN.
enum class Shape : uint8_t { kRandom, kHandshake, kStun, kOverlay, kTransport, kEnvelope, kMutated, kTunPacket };
constexpr size_t kShapes = 8;
const char* ShapeName(Shape shape);

// Recent inputs to mutate: whole datagrams, and the IP packets sealed inside transports (so a
// mutated packet can be sealed again and reach the parsers behind authentication).
class Corpus {
 public:
  void AddDatagram(const Bytes& d) { Add(&datagrams_, &next_datagram_, d); }
  void AddPacket(const Bytes& p) { Add(&packets_, &next_packet_, p); }
  bool Empty() const { return datagrams_.empty() || packets_.empty(); }
  const Bytes& Datagram(Rng& rng) const { return rng.Pick(datagrams_); }
  const Bytes& Packet(Rng& rng) const { return rng.Pick(packets_); }

 private:
  static constexpr size_t kRing = 512;
  static void Add(std::vector<Bytes>* ring, size_t* next, const Bytes& b) {
    if (ring->size() < kRing) {
      ring->push_back(b);
    } else {
      (*ring)[*next] = b;
      *next = (*next + 1) % kRing;
    }
  }
  std::vector<Bytes> datagrams_, packets_;
  size_t next_datagram_ = 0, next_packet_ = 0;
};

// Changes `data` in 1 to 4 steps: bit flips, edge values in 1-, 2-, 4- and 8-byte fields,
// truncation (often to a parser's boundary length), extension, insertion, deletion, splicing
// with another corpus datagram.
void Mutate(Rng& rng, const Corpus& corpus, Bytes* data);

class Generator {
 public:
  Generator(Rng& rng, Corpus& corpus) : rng_(rng), corpus_(corpus) {}
  Shape Next(World& world, Bytes* out);

 private:
  void Random(Bytes* out);
  void Handshake(World& world, Bytes* out);
  void Stun(Bytes* out);
  void Overlay(World& world, Bytes* out);
  void Sealed(World& world, Bytes* out);
  // A transport message to `session` (or to a random receiver index when null).
  void Transport(World& world, FuzzSession* session, Bytes* out);
  void Envelope(World& world, int depth, Bytes* out);
  void TunPacket(World& world, Bytes* out);
  // An IP packet from `from`: its own source address mostly, to us or to another peer.
  void Packet(World& world, PeerId from, Bytes* out);
  void Ipv4(World& world, PeerId from, Bytes* out);
  void Ipv6(World& world, PeerId from, Bytes* out);
  void Address(World& world, PeerId from, bool source, int bytes, uint8_t* out);
  size_t PayloadLength(size_t room);
  // The next counter a sender uses, mostly; sometimes a replay, a jump, or an edge value.
  uint64_t Counter(uint64_t* next);

  Rng& rng_;
  Corpus& corpus_;
  TransportAead aead_;
  Blake2sMac mac_;
};

}  // namespace overlay::fuzz
