// Relays: WireGuard datagrams carried through a third member when two members cannot reach each
// other (DESIGN.md "NAT traversal and paths"). JavaScript chooses the path and installs the pair
// secrets; the data path wraps, forwards and unwraps with no packet going through JavaScript. The
// relay only authenticates the envelope; the WireGuard session inside stays between the two ends.
//
// Keys and nonces (issue 10, hole 4). Per member, JavaScript installs a 32-byte pair secret (from
// the DH of the two WireGuard static keys, core/node/relayKeys.ts) and the member's relay epoch,
// which it read from the member's signed endpoint record. Our own epoch is 16 random bytes drawn
// when this Engine is made (every `up`, every start after a crash). The envelope key is
//
//   key    = HMAC-SHA256(secret, "overlay relay key v1"    || epoch_lo || epoch_hi)
//   key id = HMAC-SHA256(secret, "overlay relay key id v1" || epoch_lo || epoch_hi)[0..2], u16 LE
//
// with lo/hi the two members' epochs ordered by their tags (u64 LE), the order that also gives the
// nonce direction. The nonce is direction u32 || counter u64, and the counter is one per Engine
// (relay_counter_), taken by every envelope it MACs whatever the key or thread. So:
//   - within one Engine no counter value is used twice, even for a key removed and installed again;
//   - another Engine (a restart, kill -9 included) has another epoch, so other keys;
//   - the other member of the pair MACs with the other direction.
// No (key, nonce) pair is ever used twice, as ChaCha20-Poly1305 requires.
//
// A receiver holds one key per member, for the epochs it knows now; a new epoch means a new
// RelayKey with a new replay window. Envelopes under any other key carry another key id and are
// dropped and counted (relay_stale_key) before any MAC work. Which epoch is current is decided by
// the endpoint record's version (signed by the member, newer wins), never by envelopes, so
// replaying an old epoch's envelopes cannot move a receiver back to that epoch's key.
//
// Locking: keys and tags are written by the JavaScript thread under the table's exclusive lock
// and never changed in place; the threads read them under the shared lock. relay_counter_ and the
// counters are atomics; replay windows and token buckets are the receive thread's alone.
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "../errors.h"
#include "engine.h"
#include "wire.h"

namespace overlay {

namespace {

// Both members of a pair MAC with one key; the one with the lower tag uses nonce direction 0,
// the other 1, so their nonces never meet (aead.h).
uint32_t DirectionOf(uint64_t sender_tag, uint64_t receiver_tag) { return sender_tag < receiver_tag ? 0 : 1; }

// An IPv4 underlay with a 1500-byte MTU: above this the kernel fragments the datagram.
constexpr size_t kUnfragmentedUdpPayload = 1500 - 20 - 8;

constexpr char kKeyLabel[] = "overlay relay key v1";
constexpr char kKeyIdLabel[] = "overlay relay key id v1";

// HMAC-SHA256(secret, label || lo || hi) into out[32]; false if OpenSSL fails.
bool EpochMac(const uint8_t secret[kKeySize], const char* label, const RelayEpoch& lo, const RelayEpoch& hi,
              uint8_t out[32]) {
  size_t label_len = std::strlen(label);
  uint8_t msg[32 + 2 * kRelayEpochSize];
  std::memcpy(msg, label, label_len);
  std::memcpy(msg + label_len, lo.data(), kRelayEpochSize);
  std::memcpy(msg + label_len + kRelayEpochSize, hi.data(), kRelayEpochSize);
  unsigned int n = 0;
  bool ok = HMAC(EVP_sha256(), secret, kKeySize, msg, label_len + 2 * kRelayEpochSize, out, &n) != nullptr && n == 32;
  OPENSSL_cleanse(msg, sizeof msg);
  return ok;
}

}  // namespace

RelayEpoch NewRelayEpoch() {
  RelayEpoch epoch{};
  if (RAND_bytes(epoch.data(), static_cast<int>(epoch.size())) != 1)
    throw TunError(code::kOther, 0, nullptr, "datapath: no random bytes for the relay epoch");
  return epoch;
}

// ---- JavaScript-thread operations --------------------------------------------------------------

void Engine::SetRelayKey(PeerId id, const uint8_t secret[kKeySize], uint64_t local_tag, uint64_t remote_tag,
                         const RelayEpoch& remote_epoch) {
  if (local_tag == remote_tag) throw std::invalid_argument("relay tags local and remote must differ");
  bool local_lo = local_tag < remote_tag;
  const RelayEpoch& lo = local_lo ? relay_epoch_ : remote_epoch;
  const RelayEpoch& hi = local_lo ? remote_epoch : relay_epoch_;
  uint8_t key[32], id_mac[32];
  bool derived = EpochMac(secret, kKeyLabel, lo, hi, key) && EpochMac(secret, kKeyIdLabel, lo, hi, id_mac);
  uint16_t key_id = wire::ReadLe16(id_mac);
  OPENSSL_cleanse(id_mac, sizeof id_mac);
  struct Wipe {
    uint8_t* p;
    ~Wipe() { OPENSSL_cleanse(p, 32); }
  } wipe{key};
  if (!derived) throw TunError(code::kOther, 0, nullptr, "datapath: HMAC-SHA256 failed deriving a relay key");
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  Peer* peer = table_.Find(id);
  if (!peer) throw std::invalid_argument("unknown peer " + std::to_string(id));
  auto owner = table_.by_relay_tag.find(remote_tag);
  if (owner != table_.by_relay_tag.end() && owner->second != id)
    throw std::invalid_argument("relay tag is already peer " + std::to_string(owner->second) + "'s");
  if (peer->relay && CRYPTO_memcmp(peer->relay->key, key, kKeySize) == 0 && peer->relay->local_tag == local_tag &&
      peer->relay->remote_tag == remote_tag) {
    return;  // the key we hold: its replay window must go on, or old envelopes would pass again
  }
  if (peer->relay) table_.by_relay_tag.erase(peer->relay->remote_tag);
  auto k = std::make_unique<RelayKey>();
  std::memcpy(k->key, key, kKeySize);
  k->key_id = key_id;
  k->local_tag = local_tag;
  k->remote_tag = remote_tag;
  peer->relay = std::move(k);  // the old one's destructor wipes its key
  table_.by_relay_tag[remote_tag] = id;
}

void Engine::RemoveRelayKey(PeerId id) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  Peer* peer = table_.Find(id);
  if (!peer || !peer->relay) return;
  table_.by_relay_tag.erase(peer->relay->remote_tag);
  peer->relay.reset();
}

void Engine::SetPeerPath(PeerId id, const sockaddr_in6* direct, PeerId via) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  Peer* peer = table_.Find(id);
  if (!peer) throw std::invalid_argument("unknown peer " + std::to_string(id));
  if (via != kNoPeer) {
    // One hop only: a relay forwards to its members' endpoints, never along their paths, so
    // envelopes cannot circle.
    if (via == id) throw std::invalid_argument("peer " + std::to_string(id) + " cannot relay for itself");
    if (!table_.Find(via)) throw std::invalid_argument("unknown relay peer " + std::to_string(via));
  }
  peer->relay_via = via;
  if (direct) peer->UpdateEndpoint(*direct, extras_.SocketFor(*direct));
}

void Engine::SetRelayService(bool enabled, uint32_t bytes_per_second) {
  relay_rate_.store(bytes_per_second);
  relay_service_.store(enabled);
}

int Engine::SendControlToPeer(const uint8_t* data, size_t len, PeerId id) {
  std::vector<uint8_t> buf(wire::kEnvelopeHeader + len);
  std::memcpy(buf.data() + wire::kEnvelopeHeader, data, len);
  std::shared_lock<std::shared_mutex> lock(table_.mu);
  Peer* peer = table_.Find(id);
  if (!peer) return -1;
  return SendOneToPeer(js_aead_, *peer, buf.data() + wire::kEnvelopeHeader, len);
}

int Engine::SendControlVia(const uint8_t* data, size_t len, PeerId id, PeerId via) {
  std::vector<uint8_t> buf(wire::kEnvelopeHeader + len);
  uint8_t* datagram = buf.data() + wire::kEnvelopeHeader;
  std::memcpy(datagram, data, len);
  std::shared_lock<std::shared_mutex> lock(table_.mu);
  Peer* peer = table_.Find(id);
  Peer* relay = table_.Find(via);
  if (!peer || !relay || peer == relay) return -1;
  sockaddr_in6 to{};
  uint8_t* start = nullptr;
  uint16_t socket = 0;
  size_t n = Wrap(js_aead_, *relay, *peer, datagram, len, &to, &start, &socket);
  if (n == 0) return -1;
  return SendFrom(socket, start, n, to);
}

// ---- Both threads ------------------------------------------------------------------------------

size_t Engine::Address(TransportAead& aead, Peer& peer, uint8_t* datagram, size_t len, sockaddr_in6* dest,
                       uint8_t** start, uint16_t* socket) {
  if (peer.relay_via == kNoPeer) {
    Endpoint ep = peer.GetEndpoint();
    if (!ep.set) {
      counters_.tx_no_endpoint.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    *dest = ep.addr;
    *socket = ep.socket;
    *start = datagram;
    return len;
  }
  Peer* relay = table_.Find(peer.relay_via);
  if (!relay) {
    counters_.relay_no_path.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  return Wrap(aead, *relay, peer, datagram, len, dest, start, socket);
}

size_t Engine::Wrap(TransportAead& aead, Peer& relay, Peer& to, uint8_t* datagram, size_t len, sockaddr_in6* dest,
                    uint8_t** start, uint16_t* socket) {
  if (!relay.relay || !to.relay) {
    counters_.relay_no_path.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  Endpoint ep = relay.GetEndpoint();
  if (!ep.set || len + wire::kEnvelopeHeader > wire::kMaxDatagram) {
    counters_.relay_no_path.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  RelayKey& k = *relay.relay;
  uint64_t counter = relay_counter_.fetch_add(1, std::memory_order_relaxed);
  if (counter >= ReplayWindow::kRejectAfterMessages) {
    counters_.relay_no_path.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  uint8_t* h = datagram - wire::kEnvelopeHeader;
  wire::WriteEnvelopeHeader(h, wire::kEnvelopeToRelay, k.key_id, k.local_tag, to.relay->remote_tag, counter);
  if (!aead.Mac(k.key, DirectionOf(k.local_tag, k.remote_tag), counter, h, wire::kEnvelopeAad, datagram, len,
                h + wire::kEnvelopeAad)) {
    counters_.tx_send_failed.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  counters_.relay_out.fetch_add(1, std::memory_order_relaxed);
  if (len + wire::kEnvelopeHeader > kUnfragmentedUdpPayload)
    counters_.relay_fragmented.fetch_add(1, std::memory_order_relaxed);
  *dest = ep.addr;
  *socket = ep.socket;
  *start = h;
  return len + wire::kEnvelopeHeader;
}

int Engine::SendOneToPeer(TransportAead& aead, Peer& peer, uint8_t* datagram, size_t len) {
  sockaddr_in6 to{};
  uint8_t* start = nullptr;
  uint16_t socket = 0;
  size_t n = Address(aead, peer, datagram, len, &to, &start, &socket);
  if (n == 0) return -1;
  return SendFrom(socket, start, n, to);
}

// ---- Receive thread ----------------------------------------------------------------------------

bool Engine::TakeRelayToken(RelayKey& k, size_t envelope, int64_t now) {
  // Bytes, not envelopes: what a member makes us carry is bandwidth, and an envelope count would
  // bound it only through the largest envelope a slot holds. Each envelope is charged what we put
  // on the wire for it (its length, and the headers under it), so small ones are not free either.
  // A bucket of one second's worth: a member may burst, but cannot make us its bulk carrier.
  double rate = std::max<uint32_t>(relay_rate_.load(std::memory_order_relaxed), 1);
  if (k.tokens_ms == 0) {
    k.tokens = rate;
  } else {
    k.tokens = std::min(rate, k.tokens + double(now - k.tokens_ms) * rate / 1000.0);
  }
  k.tokens_ms = now;
  double charge = double(envelope + kRelayChargeOverhead);
  if (k.tokens < charge) return false;
  k.tokens -= charge;
  return true;
}

Engine::RelayHop Engine::HandleEnvelope(TransportAead& aead, uint8_t* p, size_t n, int64_t now,
                                        sockaddr_in6* fwd_to, uint16_t* fwd_socket) {
  RelayHop hop;
  wire::EnvelopeHeader header;
  if (!wire::ParseEnvelope(p, n, &header)) {
    counters_.relay_malformed.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  bool to_relay = header.flags == wire::kEnvelopeToRelay;
  if (to_relay && !relay_service_.load(std::memory_order_relaxed)) {
    counters_.relay_disabled.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  uint64_t counter = header.counter;
  Peer* signer = table_.FindByRelayTag(header.mac_tag);
  if (!signer) {
    counters_.relay_unknown_tag.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  RelayKey& in = *signer->relay;
  if (header.key_id != in.key_id) {
    counters_.relay_stale_key.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  // As for transport: the window first, so replays cost no MAC work; Accept after it verifies.
  if (!in.replay.Check(counter)) {
    counters_.relay_replay.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  uint8_t* inner = p + wire::kEnvelopeHeader;
  size_t inner_len = header.inner;
  if (!aead.VerifyMac(in.key, DirectionOf(in.remote_tag, in.local_tag), counter, p, wire::kEnvelopeAad, inner,
                      inner_len, p + wire::kEnvelopeAad)) {
    counters_.relay_bad_mac.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  if (!in.replay.Accept(counter)) {
    counters_.relay_replay.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  Peer* other = table_.FindByRelayTag(header.other_tag);
  if (!to_relay) {
    // For us: the relay vouches only for having carried it; the inner datagram proves itself.
    if (!other || other == signer) {
      counters_.relay_unknown_tag.fetch_add(1, std::memory_order_relaxed);
      return hop;
    }
    counters_.relay_in.fetch_add(1, std::memory_order_relaxed);
    hop.action = RelayHop::kInner;
    hop.via = signer->id;
    hop.sender = other->id;
    return hop;
  }
  // Relay service: only between two members we hold keys with, never back to the sender.
  if (!other || other == signer) {
    counters_.relay_not_member.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  if (!TakeRelayToken(in, n, now)) {
    counters_.relay_rate.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  Endpoint ep = other->GetEndpoint();
  RelayKey& out = *other->relay;
  if (!ep.set) {
    counters_.relay_no_path.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  uint64_t out_counter = relay_counter_.fetch_add(1, std::memory_order_relaxed);
  if (out_counter >= ReplayWindow::kRejectAfterMessages) {
    counters_.relay_no_path.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  // Re-wrapped in place: same length, so the datagram never moves.
  wire::WriteEnvelopeHeader(p, wire::kEnvelopeFromRelay, out.key_id, out.local_tag, in.remote_tag, out_counter);
  if (!aead.Mac(out.key, DirectionOf(out.local_tag, out.remote_tag), out_counter, p, wire::kEnvelopeAad, inner,
                inner_len, p + wire::kEnvelopeAad)) {
    counters_.tx_send_failed.fetch_add(1, std::memory_order_relaxed);
    return hop;
  }
  counters_.relay_forwarded.fetch_add(1, std::memory_order_relaxed);
  *fwd_to = ep.addr;
  *fwd_socket = ep.socket;
  hop.action = RelayHop::kForward;
  return hop;
}

}  // namespace overlay
