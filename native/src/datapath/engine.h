// The data path: two threads that move packets between the TUN device and the UDP socket with no
// trip through JavaScript (DESIGN.md "Layers").
//
//   send thread:    TUN read (batch) → route by destination → encrypt → sendmmsg
//   receive thread: recvmmsg → session by receiver index → replay check → decrypt → source check
//                   → TUN write
//
// A peer's endpoint names the socket that reaches it: the main one, or an extra one
// (extra_sockets.h: birthday probing's holes, issue 13), which the receive thread reads too
// (one epoll set) and both threads send from; the main socket's batches stay as they were.
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
// (a handshake is needed, a responder's session is confirmed), go up through two bounded queues:
// one for WireGuard's handshakes and the events, one for overlay's own messages, which are
// screened and budgeted per sender first (admission.h), so junk can never starve a handshake.
// Handshake messages are screened too (handshake_screen.h): mac1 always, and under load a cookie
// reply instead of a trip to JavaScript. Only the datagrams that go up count against the first
// queue's bound: the events are a few per peer, and a flood must not crowd them out.
#pragma once

#include <netinet/in.h>
#include <sys/uio.h>

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
#include "admission.h"
#include "engine_counters.h"
#include "extra_sockets.h"
#include "gro.h"
#include "handshake_screen.h"
#include "peer_table.h"
#include "udp_socket.h"
#include "wire.h"

namespace overlay {

struct EngineConfig {
  uint16_t port = 0;
  size_t mtu = 1420;  // of the TUN device: the largest plaintext packet
  size_t batch = 64;
  size_t staged_per_peer = 128;
  size_t up_queue_max = 1024;  // each of the two queues
  // The TUN device's transmit queue: packets the kernel holds for the send thread's read() before
  // it drops them (the link's TX dropped, counted as tun_device_dropped). The kernel's default of
  // 500 overflowed under one TCP stream here (issue 12: 15,687 drops, as many retransmits, in 8 s):
  // TCP fills the queue in bursts while the send thread is off the CPU. 2000 packets cover ~23 ms
  // of a descheduled send thread at 1 Gbit/s of full-size packets, which took the drops to 0 in
  // the same run; what it holds stays bounded by the senders' own socket buffers and this count.
  // 0 leaves the device's as it is.
  uint32_t tun_queue_length = 2000;
  // TUN offloads (issue 12): the device hands us TCP super-packets and leaves checksums to us
  // (TUNSETOFFLOAD TSO4/TSO6/CSUM), which the send thread splits (tso.h), and the receive thread
  // writes in-order TCP segments of a flow as one super-packet (gro.h). Off, or refused by the
  // kernel (counted), every read and write is one packet; the virtio-net header is there either way.
  // The same switch turns on UDP GSO and GRO (udp_socket.h): a run of equal-sized datagrams to one
  // peer leaves in one message, and one sender's run arrives in one.
  bool offload = true;
  // Sealed overlay messages per second each member may send us (admission.h), and what all
  // strangers together may (unknown keys, join queries, STUN answers).
  double sealed_per_peer_per_second = 1000;
  double sealed_per_peer_burst = 1000;
  // ...and from any other address than its known endpoint: a member that just roamed sends a
  // few discovery messages a second from its new address before its endpoint follows.
  double sealed_elsewhere_per_second = 100;
  double strangers_per_second = 256;
  double strangers_burst = 256;
  // whitepaper §6.1/§6.2 timers the data path itself enforces; tests shorten them.
  int64_t rekey_after_time_ms = 120'000;
  int64_t reject_after_time_ms = 180'000;
  int64_t keepalive_timeout_ms = 10'000;
  int64_t rekey_timeout_ms = 5'000;
  uint64_t rekey_after_messages = 1ull << 60;
  // This node's own overlay addresses. When any are given, a decrypted packet that is not
  // forwarded to another peer is written to the TUN only if addressed to one of them: a peer may
  // send from its own addresses only (the source check) and to ours only, so the kernel is never
  // asked to deliver or route for it anything else — another network's addresses on a host in
  // several (issue 14), which the kernel's weak host model would otherwise accept on any interface.
  std::vector<IpPrefix> local_addresses;
};

struct UpEvent {
  // kStun: a STUN answer (admission::Kind::kStun), told apart here so JavaScript never parses one
  // to learn what it is.
  // kTraffic: transport moved after WatchTraffic armed the watch (no peer: JavaScript reads them all).
  enum Kind { kControl, kStun, kHandshakeNeeded, kSessionConfirmed, kEndpointChanged, kTraffic } kind;
  PeerId peer = kNoPeer;
  uint32_t local_index = 0;
  sockaddr_in6 from{};
  std::vector<uint8_t> bytes;
  PeerId via = kNoPeer;  // a control datagram that came in a relay envelope: the relay member
  uint16_t socket = 0;   // the socket it came in on: 0 the main one, else an extra (extra_sockets.h)
  // kControl: when the receive thread handed it up (CLOCK_MONOTONIC, ns), so discovery times a
  // pong by its arrival here, not by when the JavaScript thread got round to it (issue 13).
  int64_t at_ns = 0;
};

// CLOCK_MONOTONIC in ns: the clock libuv's hrtime (process.hrtime) reads too.
int64_t MonotonicNs();

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
  // `public_key` (32 bytes, or null to keep what the peer had) lets overlay's sealed messages from
  // this peer be told from a stranger's by their header (admission.h).
  void SetPeer(PeerId id, const std::vector<IpPrefix>& allowed, const sockaddr_in6* endpoint, bool forward,
               const uint8_t* public_key = nullptr);
  // The mac1 key sealed messages to this node must carry (admission.h); until set, none is checked.
  void SetSealedScreen(const uint8_t key[admission::kMac1KeySize]);
  // Our WireGuard mac1 and cookie keys and the load limits (handshake_screen.h); set once. Until
  // then every handshake message goes up unscreened.
  void SetHandshakeScreen(const uint8_t mac1_key[HandshakeScreen::kKeySize],
                          const uint8_t cookie_key[HandshakeScreen::kKeySize], const HandshakeScreenConfig& config) {
    handshake_screen_.Configure(mac1_key, cookie_key, config);
  }
  void SetEndpoint(PeerId id, const sockaddr_in6& endpoint);
  void RemovePeer(PeerId id);
  // Initiator: the session sends at once. Responder: it waits as `next` until its first packet.
  // Throws std::invalid_argument for an unknown peer or an index already in use.
  void InstallSession(PeerId id, const SessionParams& params);
  void RemoveSession(uint32_t local_index);
  void ClearSessions(PeerId id);
  // From `socket` (an extra's id), or kBoundSocket: the one bound to `to`, else the main one.
  static constexpr int kBoundSocket = -1;
  static constexpr uint32_t kWakeTag = 0xffffffffu;  // wake_'s tag in the epoll set
  int SendControl(const uint8_t* data, size_t len, const sockaddr_in6& to, int socket = kBoundSocket, int ttl = 0);
  // Extra sockets (extra_sockets.h): open (its id, 0 when all kMax are open; *port its port),
  // close, bind a destination to one (its datagrams, and a peer whose endpoint JavaScript sets
  // there, leave from it), and what each moved.
  uint16_t OpenSocket(uint16_t* port) { return extras_.Open(port); }
  void CloseSocket(uint16_t id) { extras_.Close(id); }
  void BindSocket(const sockaddr_in6& to, uint16_t id) { extras_.Bind(to, id); }
  std::vector<ExtraSockets::Stat> SocketStats() { return extras_.Stats(); }
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
  // `bytes_per_second`: what each member may make us forward (TakeRelayToken), 1..2^32-1.
  void SetRelayService(bool enabled, uint32_t bytes_per_second);
  // What a forwarded envelope is charged beyond its length: the IPv6 and UDP headers under it (48)
  // and a little for the per-datagram work, so a flood of tiny envelopes pays for itself.
  static constexpr size_t kRelayChargeOverhead = 64;
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
  // Reads the counters the kernel keeps for us (the TUN's TX dropped) into counters(); on demand,
  // from the JavaScript thread, so an idle data path reads nothing.
  void RefreshDeviceCounters();
  // Arms the traffic watch: the next transport datagram either thread sends or authenticates (or
  // a staged packet sent) pushes one kTraffic event and disarms it. JavaScript reads the per-peer
  // counters only while traffic moves, and arms this when they stop moving (core/tunnel/
  // trafficWatch.ts): an idle node then reads nothing and wakes for nothing (issue 12, point 5).
  void WatchTraffic() { traffic_watch_.store(true, std::memory_order_release); }

 private:
  void SendLoop();
  void ReceiveLoop();
  // The receive thread's memory for Deliver, sized for a batch once.
  struct GroScratch {
    explicit GroScratch(size_t batch) : groups(batch), next(batch), segments(batch), iov(batch) {}
    std::vector<gro::Group> groups;
    std::vector<uint32_t> next;
    std::vector<gro::detail::Segment> segments;
    std::vector<iovec> iov;
  };
  // Receive thread: writes decrypted packets[0, n) to the TUN, coalesced when offloads are on.
  // Each packet has at least virtio::kHeaderSize bytes of the buffer in front of it to spare.
  void Deliver(uint8_t* const* packets, const size_t* lens, size_t n, GroScratch& scratch);
  bool WaitReadable(int fd);  // false when stopping
  // Receive thread: waits until the main socket or extras are readable; their ids (0: the main
  // one) into ready[0, *n). False when stopping.
  bool WaitReceive(uint16_t* ready, size_t max, size_t* n);
  // Sends datagrams [0, count) each from the socket in sockets[i]: the main socket's as one batch
  // (the arrays are compacted in place for it), an extra's one by one. Returns how many went.
  size_t SendOut(uint8_t** bufs, uint32_t* lens, sockaddr_in6* to, const uint16_t* sockets, size_t count,
                 UdpSocket::Caller caller);
  int SendFrom(uint16_t socket, const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl = 0);
  // Any thread, once per batch that moved transport: the event WatchTraffic asked for, if armed.
  // A relaxed load while disarmed, so busy threads pay one read of a line nobody writes.
  void NoteTraffic() {
    if (traffic_watch_.load(std::memory_order_relaxed) && traffic_watch_.exchange(false))
      Push(UpEvent{UpEvent::kTraffic, kNoPeer, 0, {}, {}});
  }
  // Events and handshake messages, each kind against its own bound; false (counted) when full.
  bool Push(UpEvent event);
  bool PushOverlay(UpEvent event);
  // Receive thread, shared table lock held: a datagram that is not a transport message, after
  // admission::Classify said what it is. It goes up to JavaScript, is answered with a cookie, or is
  // dropped — exactly one of them counted. `sender`/`via`: as in UpEvent, for a relayed one.
  void HandleControl(admission::Kind kind, const uint8_t* p, size_t n, const sockaddr_in6& from, PeerId sender,
                     PeerId via, int64_t now, uint16_t socket);
  // Whether an overlay message may go up (admission.h); counts the drop when not.
  bool AdmitOverlay(admission::Kind kind, const uint8_t* p, size_t n, PeerId sender, const sockaddr_in6& from,
                    int64_t now);
  // Whether a handshake message may go up (handshake_screen.h); counts what happened when not.
  bool AdmitHandshake(const uint8_t* p, size_t n, const sockaddr_in6& from, bool relayed, int64_t now,
                      uint16_t from_socket);
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
  // Whether a packet not forwarded may go to the TUN: addressed to one of config_.local_addresses
  // (any address, when none were given).
  bool ForUs(const wire::InnerPacket& inner) const;
  // Seals `len` bytes at slot + kTransportHeader for `to`'s current session; 0 if it has none
  // usable (the packet is then staged and a handshake asked for) or no endpoint.
  // The datagram then starts at *start: `slot` itself, or kEnvelopeHeader bytes before it when
  // `to` is relayed, so every caller leaves that much headroom in front of `slot`.
  size_t SealForPeer(TransportAead& aead, Peer& to, uint8_t* slot, size_t len, int64_t now, sockaddr_in6* dest,
                     uint8_t** start, uint16_t* socket);
  // Where a datagram for `peer` goes: its endpoint, or wrapped in an envelope for its relay
  // (written into the kEnvelopeHeader bytes before `datagram`). Returns the length from *start,
  // 0 (counted) when there is no path. Shared table lock held.
  size_t Address(TransportAead& aead, Peer& peer, uint8_t* datagram, size_t len, sockaddr_in6* dest,
                 uint8_t** start, uint16_t* socket);
  // The envelope part of Address: `datagram` for `to`, through member `relay`.
  size_t Wrap(TransportAead& aead, Peer& relay, Peer& to, uint8_t* datagram, size_t len, sockaddr_in6* dest,
              uint8_t** start, uint16_t* socket);
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
  RelayHop HandleEnvelope(TransportAead& aead, uint8_t* p, size_t n, int64_t now, sockaddr_in6* fwd_to,
                          uint16_t* fwd_socket);
  bool TakeRelayToken(RelayKey& k, size_t envelope, int64_t now);

  EngineConfig config_;
  UniqueFd tun_;
  std::string tun_name_;  // the interface's name, for its queue length and counters
  bool offload_ = false;  // TUNSETOFFLOAD took; set before the threads start
  UdpSocket socket_;
  UniqueFd wake_;  // eventfd: Stop() wakes both threads out of poll()
  UniqueFd epoll_;  // the receive thread's: the main socket, wake_, and the extras
  ExtraSockets extras_;
  std::atomic<bool> stopping_{false};
  std::thread send_thread_, receive_thread_;
  std::function<void()> notify_;

  PeerTable table_;
  EngineCounters counters_;
  TransportAead js_aead_;  // for staged packets and keepalives sent from the JavaScript thread

  std::atomic<bool> relay_service_{false};
  std::atomic<uint32_t> relay_rate_{0};  // bytes per second per sending member
  const RelayEpoch relay_epoch_ = NewRelayEpoch();
  // The nonce counter of every envelope this Engine MACs, whichever key and thread: never reused.
  // On a cache line of its own: both threads take from it per envelope.
  alignas(64) std::atomic<uint64_t> relay_counter_{0};

  alignas(64) std::atomic<bool> traffic_watch_{false};  // its own line: read per batch, written rarely

  alignas(64) std::atomic<bool> screen_set_{false};
  uint8_t screen_key_[admission::kMac1KeySize] = {};  // written once, before screen_set_
  admission::Bucket strangers_;                       // receive thread only
  HandshakeScreen handshake_screen_;                  // receive thread, once configured

  std::mutex up_mu_;
  std::deque<UpEvent> up_;          // handshakes and events
  size_t up_handshakes_ = 0;        // of up_, the handshake messages: what the bound counts
  std::deque<UpEvent> overlay_up_;  // overlay's own messages
};

}  // namespace overlay
