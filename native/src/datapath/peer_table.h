// Peers, their sessions and routes, shared by the two data-path threads and the JavaScript thread.
//
// Locking: one reader-writer lock over the whole table. The threads take it shared once per
// batch, never per packet; JavaScript takes it exclusively to install or remove peers, sessions
// and routes, which happens a few times a minute per peer. Per-packet state that the threads
// change — send counters, statistics, a peer's endpoint — is atomic or under a peer's own small
// lock, so the shared lock is enough for them.
#pragma once

#include <netinet/in.h>
#include <openssl/crypto.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "admission.h"
#include "aead.h"
#include "allowed_ips.h"
#include "replay_window.h"

namespace overlay {

int64_t MonotonicMs();

// One direction pair of transport keys from a completed handshake (whitepaper §5.4.5).
struct Session {
  uint32_t local_index = 0;   // the receiver index peers put on packets to us
  uint32_t remote_index = 0;  // the receiver index we put on packets to them
  uint8_t send_key[kKeySize] = {};
  uint8_t recv_key[kKeySize] = {};
  bool we_initiated = false;
  int64_t created_ms = 0;
  PeerId peer = kNoPeer;
  std::atomic<uint64_t> send_counter{0};
  ReplayWindow replay;  // receive thread only

  ~Session() {
    // Keys must not outlive the session in memory (whitepaper §5.4.6 "zeroed").
    OPENSSL_cleanse(send_key, sizeof send_key);
    OPENSSL_cleanse(recv_key, sizeof recv_key);
  }
};

// A data path's relay epoch: random, drawn when the Engine is made, so no two lifetimes share one.
constexpr size_t kRelayEpochSize = 16;
using RelayEpoch = std::array<uint8_t, kRelayEpochSize>;

// The key and tags this node shares with one member for relay envelopes (wire.h): the key of our
// epoch and the member's (relay.cc). Written under the table's exclusive lock, never changed after.
struct RelayKey {
  uint8_t key[kKeySize] = {};
  uint16_t key_id = 0;      // names this key in envelope headers
  uint64_t local_tag = 0;   // names this node in envelopes we MAC for that member
  uint64_t remote_tag = 0;  // names that member: as MAC holder, as destination, as original sender
  ReplayWindow replay;      // receive thread only; a new key (a new epoch) starts a new window
  // Token bucket of the relay service, in bytes, for envelopes this member asks us to forward;
  // receive thread only.
  double tokens = 0;
  int64_t tokens_ms = 0;

  ~RelayKey() { OPENSSL_cleanse(key, sizeof key); }
};

struct Endpoint {
  sockaddr_in6 addr{};  // IPv4 as v4-mapped, since the socket is dual-stack
  bool set = false;
  uint16_t socket = 0;  // which socket reaches it: 0 the main one, else an extra (extra_sockets.h)
};

struct PeerStats {
  std::atomic<uint64_t> rx_bytes{0}, rx_packets{0}, tx_bytes{0}, tx_packets{0};
  std::atomic<int64_t> last_rx_ms{0};       // any authenticated packet, keepalives included
  std::atomic<int64_t> last_rx_data_ms{0};  // a packet with content
  std::atomic<int64_t> last_tx_ms{0};
  std::atomic<int64_t> last_tx_data_ms{0};
};

struct Peer {
  explicit Peer(PeerId peer_id) : id(peer_id) {}
  const PeerId id;
  // Packets from or to this peer may be forwarded to another peer by this node (a plain
  // WireGuard device it hosts for the mesh). Written under the table's exclusive lock.
  bool forward = false;

  // Sessions, as in WireGuard: `current` sends; `previous` still receives after a rekey;
  // `next` is a responder's session that becomes current on the first packet it receives
  // (whitepaper §5.4.5: the responder may not send first).
  std::shared_ptr<Session> current, previous, next;

  std::mutex endpoint_mu;
  Endpoint endpoint;

  // Relay: this peer's key and tags (null: none), and the member our datagrams for it go
  // through (kNoPeer: straight to `endpoint`). Written under the table's exclusive lock.
  std::unique_ptr<RelayKey> relay;
  PeerId relay_via = kNoPeer;

  // Packets that arrived from the TUN while there was no session, sent once one is installed.
  std::mutex staged_mu;
  std::deque<std::vector<uint8_t>> staged;
  std::atomic<int64_t> handshake_wanted_ms{0};

  // Its WireGuard public key, when JavaScript gave it: sealed messages name their sender by it.
  // Written under the table's exclusive lock.
  std::array<uint8_t, 32> public_key{};
  bool has_public_key = false;
  // Its budgets for sealed messages (admission.h): from its known endpoint or through a relay,
  // and from anywhere else (a roaming member, or someone using its key as a claim); receive
  // thread only.
  admission::Bucket sealed_budget, sealed_elsewhere;

  PeerStats stats;

  Endpoint GetEndpoint() {
    std::lock_guard<std::mutex> lock(endpoint_mu);
    return endpoint;
  }
  // Roaming (whitepaper §2.1): follow the source of authenticated packets. True if it changed.
  // `socket`: the one it came in on (or that JavaScript bound to the address).
  bool UpdateEndpoint(const sockaddr_in6& from, uint16_t socket) {
    std::lock_guard<std::mutex> lock(endpoint_mu);
    if (endpoint.set && SameAddress(endpoint.addr, from) && endpoint.socket == socket) return false;
    endpoint.addr = from;
    endpoint.set = true;
    endpoint.socket = socket;
    return true;
  }
  static bool SameAddress(const sockaddr_in6& a, const sockaddr_in6& b);
};

struct PeerTable {
  std::shared_mutex mu;
  std::unordered_map<PeerId, std::unique_ptr<Peer>> peers;
  std::unordered_map<uint32_t, std::shared_ptr<Session>> by_index;
  AllowedIps routes;
  std::unordered_map<uint64_t, PeerId> by_relay_tag;  // RelayKey::remote_tag → peer
  // Public key → peer, for peers that have one. Keys are uniformly random: their first 8 bytes hash.
  struct KeyHash {
    size_t operator()(const std::array<uint8_t, 32>& k) const {
      uint64_t h;
      std::memcpy(&h, k.data(), sizeof h);
      return static_cast<size_t>(h);
    }
  };
  std::unordered_map<std::array<uint8_t, 32>, PeerId, KeyHash> by_public_key;

  Peer* FindByPublicKey(const uint8_t* key) {
    std::array<uint8_t, 32> k;
    std::memcpy(k.data(), key, k.size());
    auto it = by_public_key.find(k);
    return it == by_public_key.end() ? nullptr : Find(it->second);
  }

  Peer* Find(PeerId id) {
    auto it = peers.find(id);
    return it == peers.end() ? nullptr : it->second.get();
  }
  // The peer an envelope's tag names, if it has a relay key.
  Peer* FindByRelayTag(uint64_t tag) {
    auto it = by_relay_tag.find(tag);
    if (it == by_relay_tag.end()) return nullptr;
    Peer* p = Find(it->second);
    return p && p->relay ? p : nullptr;
  }
  std::shared_ptr<Session> FindSession(uint32_t local_index) {
    auto it = by_index.find(local_index);
    return it == by_index.end() ? nullptr : it->second;
  }
  // Drops a session from the peer's slots and the index; with the exclusive lock held.
  void Forget(const std::shared_ptr<Session>& s) {
    if (s) by_index.erase(s->local_index);
  }
};

}  // namespace overlay
