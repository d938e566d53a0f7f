// The data path: two threads that move packets between the TUN device and the UDP socket with no
// trip through JavaScript (DESIGN.md "Layers").
//
//   send thread:    TUN read (batch) → route by destination → encrypt → sendmmsg
//   receive thread: recvmmsg → session by receiver index → replay check → decrypt → source check
//                   → TUN write
//
// Each thread runs its batch to completion with the AEAD inline: on a 2-core machine a hand-off
// to a worker pool costs more than the ~1 µs of crypto per packet it would spread out.
// A peer may be reached through a relay member instead of directly: its datagrams then travel in
// relay envelopes, which the receive thread forwards for others or opens (relay.cc). Envelope
// keys are derived per pair of data-path epochs (relay_epoch_, drawn at construction) and every
// envelope this Engine sends takes the next value of one counter (relay_counter_), so a nonce is
// never used twice under a key, across restarts and key reinstalls alike.
//
// Locks: the peer table's reader-writer lock (peer_table.h) — threads take it shared once per
// batch, JavaScript exclusively to change peers, sessions, routes and relay keys; a peer's
// endpoint and staged queue have their own small mutexes; counters and relay_counter_ are atomics;
// replay windows and relay token buckets belong to the receive thread alone.
// Everything else that is not a transport message, and the few events JavaScript must act on
// (a handshake is needed, a responder's session is confirmed), go up through a bounded queue.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../ip_prefix.h"
#include "../unique_fd.h"
#include "peer_table.h"
#include "udp_socket.h"
#include "wire.h"

namespace overlay {

struct EngineConfig {
  uint16_t port = 0;
  size_t mtu = 1420;  // of the TUN device: the largest plaintext packet
  size_t batch = 64;
  size_t staged_per_peer = 128;
  size_t up_queue_max = 1024;
  // whitepaper §6.1/§6.2 timers the data path itself enforces; tests shorten them.
  int64_t rekey_after_time_ms = 120'000;
  int64_t reject_after_time_ms = 180'000;
  int64_t keepalive_timeout_ms = 10'000;
  int64_t rekey_timeout_ms = 5'000;
  uint64_t rekey_after_messages = 1ull << 60;
};

struct UpEvent {
  enum Kind { kControl, kHandshakeNeeded, kSessionConfirmed, kEndpointChanged } kind;
  PeerId peer = kNoPeer;
  uint32_t local_index = 0;
  sockaddr_in6 from{};
  std::vector<uint8_t> bytes;
  PeerId via = kNoPeer;  // a control datagram that came in a relay envelope: the relay member
};

// Drops and events, counted so a flood or a bug shows up as a number, never as a crash.
struct EngineCounters {
  std::atomic<uint64_t> rx_datagrams{0}, rx_transport{0}, rx_control{0}, rx_junk{0}, rx_unknown_index{0},
      rx_replay{0}, rx_auth_failed{0}, rx_expired{0}, rx_bad_inner{0}, rx_source_denied{0}, rx_keepalive{0},
      tun_write_failed{0}, tx_packets{0}, tx_no_route{0}, tx_staged{0}, tx_staged_dropped{0}, tx_no_endpoint{0},
      tx_send_failed{0}, tun_read_bad{0}, up_queue_dropped{0}, forwarded{0}, forward_hop_limit{0};
  // Relay envelopes (relay.cc): wrapped and sent by us, unwrapped for us, forwarded for others,
  // relayed datagrams whose IPv4 packet exceeds 1500 bytes (the kernel fragments them), and
  // drops by reason.
  // relay_stale_key: an envelope under another key id than the key we hold for its MAC tag (an
  // epoch we do not hold: the sender restarted and we have not heard its new epoch yet, or an old
  // envelope replayed).
  std::atomic<uint64_t> relay_out{0}, relay_in{0}, relay_forwarded{0}, relay_fragmented{0}, relay_bad_mac{0},
      relay_replay{0}, relay_unknown_tag{0}, relay_not_member{0}, relay_rate{0}, relay_disabled{0},
      relay_malformed{0}, relay_no_path{0}, relay_wrong_sender{0}, relay_stale_key{0};
};

// 16 fresh random bytes (OpenSSL's RAND_bytes); throws if there are none to be had.
RelayEpoch NewRelayEpoch();

struct SessionParams {
  uint32_t local_index;
  uint32_t remote_index;
  uint8_t send_key[kKeySize];
  uint8_t recv_key[kKeySize];
  bool we_initiated;
};

class Engine {
 public:
  // `tun_fd` is duplicated, so the engine keeps the interface alive as long as it runs.
  // `notify` is called (from any thread) when the up-queue goes from empty to non-empty.
  Engine(int tun_fd, const EngineConfig& config, std::function<void()> notify);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void Start();
  void Stop();  // joins both threads; idempotent
  uint16_t port() const { return socket_.port(); }

  // --- called from the JavaScript thread ---
  void SetPeer(PeerId id, const std::vector<IpPrefix>& allowed, const sockaddr_in6* endpoint, bool forward);
  void SetEndpoint(PeerId id, const sockaddr_in6& endpoint);
  void RemovePeer(PeerId id);
  // Initiator: the session sends at once. Responder: it waits as `next` until its first packet.
  // Throws std::invalid_argument for an unknown peer or an index already in use.
  void InstallSession(PeerId id, const SessionParams& params);
  void RemoveSession(uint32_t local_index);
  void ClearSessions(PeerId id);
  int SendControl(const uint8_t* data, size_t len, const sockaddr_in6& to);
  bool SendKeepalive(PeerId id);
  std::deque<UpEvent> DrainEvents();

  // Relays (relay.cc). SetRelayKey derives the envelope key from the pair `secret`, our epoch and
  // the member's `remote_epoch`. Throw std::invalid_argument for an unknown peer, equal tags or a
  // remote tag another peer has. Installing the key already held keeps its replay window; a new
  // one (another epoch) starts a new window.
  void SetRelayKey(PeerId id, const uint8_t secret[kKeySize], uint64_t local_tag, uint64_t remote_tag,
                   const RelayEpoch& remote_epoch);
  void RemoveRelayKey(PeerId id);
  const RelayEpoch& relay_epoch() const { return relay_epoch_; }
  // `via` == kNoPeer: straight to `direct` (which becomes the endpoint); else through member `via`.
  void SetPeerPath(PeerId id, const sockaddr_in6* direct, PeerId via);
  void SetRelayService(bool enabled, uint32_t rate_per_second);
  // 0, an errno from sendto, or -1 when the peer is unknown or has no usable path.
  int SendControlToPeer(const uint8_t* data, size_t len, PeerId id);
  // The same through relay member `via`, whatever the peer's own path: how discovery measures a
  // relay route over the envelopes that would carry the traffic. -1 when either has no relay key,
  // the relay has no endpoint, or they are one peer.
  int SendControlVia(const uint8_t* data, size_t len, PeerId id, PeerId via);

  struct PeerSnapshot {
    bool found = false;
    uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
    int64_t last_rx_ms, last_rx_data_ms, last_tx_ms, last_tx_data_ms;
    Endpoint endpoint;
    uint32_t current_index, previous_index, next_index;
    int64_t current_age_ms;
    size_t staged;
    PeerId relay_via;
    bool has_relay_key;
  };
  PeerSnapshot Snapshot(PeerId id);
  const EngineCounters& counters() const { return counters_; }

 private:
  void SendLoop();
  void ReceiveLoop();
  bool WaitReadable(int fd);  // false when stopping
  void Push(UpEvent event);
  void WantHandshake(Peer& peer, int64_t now);
  // Encrypts one plaintext in place: `slot` holds it at offset kTransportHeader; returns the
  // datagram length. The caller holds the table lock (shared is enough).
  size_t Seal(TransportAead& aead, Session& s, uint64_t counter, uint8_t* slot, size_t len);
  // Sends what waited for a session, once one is current; from the thread that installed or
  // confirmed the session, with that thread's AEAD context.
  void FlushStaged(PeerId id, TransportAead& aead);
  bool Usable(const Session& s, int64_t now) const;
  // Receive thread, shared lock held: the peer a decrypted packet from `from` should be forwarded
  // to, or null to deliver it to the TUN. Only packets from or to a peer marked `forward` are.
  Peer* ForwardTarget(const Peer& from, const wire::InnerPacket& inner);
  // Seals `len` bytes at slot + kTransportHeader for `to`'s current session; 0 if it has none
  // usable (the packet is then staged and a handshake asked for) or no endpoint.
  // The datagram then starts at *start: `slot` itself, or kEnvelopeHeader bytes before it when
  // `to` is relayed, so every caller leaves that much headroom in front of `slot`.
  size_t SealForPeer(TransportAead& aead, Peer& to, uint8_t* slot, size_t len, int64_t now, sockaddr_in6* dest,
                     uint8_t** start);
  // Where a datagram for `peer` goes: its endpoint, or wrapped in an envelope for its relay
  // (written into the kEnvelopeHeader bytes before `datagram`). Returns the length from *start,
  // 0 (counted) when there is no path. Shared table lock held.
  size_t Address(TransportAead& aead, Peer& peer, uint8_t* datagram, size_t len, sockaddr_in6* dest,
                 uint8_t** start);
  // The envelope part of Address: `datagram` for `to`, through member `relay`.
  size_t Wrap(TransportAead& aead, Peer& relay, Peer& to, uint8_t* datagram, size_t len, sockaddr_in6* dest,
              uint8_t** start);
  // Address + sendto, for the JavaScript thread and staged packets: 0, errno, or -1 (no path).
  int SendOneToPeer(TransportAead& aead, Peer& peer, uint8_t* datagram, size_t len);

  // Receive thread, shared lock held: a relay envelope at `p`. Either forwarded for another
  // member (re-wrapped in place, destination in *fwd_to), opened for us (the inner datagram at
  // p + kEnvelopeHeader, from `sender`, carried by `via`), or dropped and counted.
  struct RelayHop {
    enum Action { kDrop, kForward, kInner } action = kDrop;
    PeerId via = kNoPeer;
    PeerId sender = kNoPeer;
  };
  RelayHop HandleEnvelope(TransportAead& aead, uint8_t* p, size_t n, int64_t now, sockaddr_in6* fwd_to);
  bool TakeRelayToken(RelayKey& k, int64_t now);

  EngineConfig config_;
  UniqueFd tun_;
  UdpSocket socket_;
  UniqueFd wake_;  // eventfd: Stop() wakes both threads out of poll()
  std::atomic<bool> stopping_{false};
  std::thread send_thread_, receive_thread_;
  std::function<void()> notify_;

  PeerTable table_;
  EngineCounters counters_;
  TransportAead js_aead_;  // for staged packets and keepalives sent from the JavaScript thread

  std::atomic<bool> relay_service_{false};
  std::atomic<uint32_t> relay_rate_{0};
  const RelayEpoch relay_epoch_ = NewRelayEpoch();
  // The nonce counter of every envelope this Engine MACs, whichever key and thread: never reused.
  // On a cache line of its own: both threads take from it per envelope.
  alignas(64) std::atomic<uint64_t> relay_counter_{0};

  std::mutex up_mu_;
  std::deque<UpEvent> up_;
};

}  // namespace overlay
