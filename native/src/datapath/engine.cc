#include "engine.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "../errors.h"
#include "../tun_device.h"
#include "wire.h"

namespace overlay {

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool Peer::SameAddress(const sockaddr_in6& a, const sockaddr_in6& b) {
  return a.sin6_port == b.sin6_port && std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
}

Engine::Engine(int tun_fd, const EngineConfig& config, std::function<void()> notify)
    : config_(config),
      tun_(::fcntl(tun_fd, F_DUPFD_CLOEXEC, 0)),
      socket_(config.port),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      extras_(epoll_.Get()),
      notify_(std::move(notify)) {
  if (!tun_.Valid()) throw SysError(errno, "fcntl", "datapath", "duplicate the TUN descriptor");
  tun_name_ = TunNameOf(tun_.Get());
  if (config_.tun_queue_length > 0) SetTxQueueLength(tun_name_, config_.tun_queue_length);
  int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) throw SysError(errno, "eventfd", "datapath", "create wake-up eventfd");
  wake_ = UniqueFd(wake);
  if (!epoll_.Valid()) throw SysError(errno, "epoll_create1", "datapath", "create the receive thread's epoll set");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = 0;  // the main socket
  if (::epoll_ctl(epoll_.Get(), EPOLL_CTL_ADD, socket_.fd(), &ev) != 0)
    throw SysError(errno, "epoll_ctl", "datapath", "watch the UDP socket");
  ev.data.u32 = kWakeTag;
  if (::epoll_ctl(epoll_.Get(), EPOLL_CTL_ADD, wake_.Get(), &ev) != 0)
    throw SysError(errno, "epoll_ctl", "datapath", "watch the wake-up eventfd");
  if (!js_aead_.ok()) throw TunError(code::kOther, 0, nullptr, "datapath: OpenSSL has no ChaCha20-Poly1305");
}

Engine::~Engine() { Stop(); }

void Engine::RefreshDeviceCounters() {
  uint64_t dropped = 0;
  if (ReadTxDropped(tun_name_, &dropped)) counters_.tun_device_dropped.store(dropped, std::memory_order_relaxed);
}

void Engine::Start() {
  if (send_thread_.joinable()) return;
  if (config_.offload) {
    // ECN too: without TSO_ECN the kernel would not hand us super-packets of an ECN flow at all.
    unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    offload_ = ::ioctl(tun_.Get(), TUNSETOFFLOAD, features) == 0;
    if (!offload_) counters_.tun_offload_refused.fetch_add(1, std::memory_order_relaxed);
    bool gso = socket_.EnableGso(&counters_.udp_gso_sent, &counters_.udp_gso_refused, &counters_.udp_gso_too_big);
    if (!gso) counters_.udp_gso_refused.fetch_add(1, std::memory_order_relaxed);
    if (!socket_.EnableGro(&counters_.udp_gro_received)) counters_.udp_gro_refused.fetch_add(1, std::memory_order_relaxed);
  }
  // Named, so top, perf and the idle bench tell them from the JavaScript thread.
  send_thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "ovl-send");
    SendLoop();
  });
  receive_thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "ovl-recv");
    ReceiveLoop();
  });
}

void Engine::Stop() {
  stopping_.store(true);
  uint64_t one = 1;
  if (wake_.Valid()) (void)!::write(wake_.Get(), &one, sizeof one);
  if (send_thread_.joinable()) send_thread_.join();
  if (receive_thread_.joinable()) receive_thread_.join();
  // Leave the device as it was: whoever reads it next expects one packet per read.
  if (offload_) (void)::ioctl(tun_.Get(), TUNSETOFFLOAD, 0u);
  offload_ = false;
}

bool Engine::WaitReadable(int fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_.Get(), POLLIN, 0}};
  while (!stopping_.load(std::memory_order_relaxed)) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (fds[1].revents) return false;
    if (fds[0].revents) return true;
  }
  return false;
}

bool Engine::WaitReceive(uint16_t* ready, size_t max, size_t* n) {
  epoll_event events[16];
  int cap = static_cast<int>(max < 16 ? max : 16);
  while (!stopping_.load(std::memory_order_relaxed)) {
    int got = ::epoll_wait(epoll_.Get(), events, cap, -1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return false;
    *n = 0;
    for (int i = 0; i < got; i++) {
      if (events[i].data.u32 == kWakeTag) return false;
      ready[(*n)++] = static_cast<uint16_t>(events[i].data.u32);
    }
    if (*n > 0) return true;
  }
  return false;
}

size_t Engine::SendOut(uint8_t** bufs, uint32_t* lens, sockaddr_in6* to, const uint16_t* sockets, size_t count,
                       UdpSocket::Caller caller) {
  size_t main = 0, sent = 0;
  for (size_t i = 0; i < count; i++) {
    if (sockets[i] != 0) {
      if (extras_.SendOne(sockets[i], bufs[i], lens[i], to[i]) == 0) sent++;
      continue;
    }
    bufs[main] = bufs[i];
    lens[main] = lens[i];
    to[main] = to[i];
    main++;
  }
  if (main > 0) sent += socket_.SendBatch(bufs, lens, to, main, caller);
  return sent;
}

int Engine::SendFrom(uint16_t socket, const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl) {
  return socket == 0 ? socket_.SendOne(data, len, to, ttl) : extras_.SendOne(socket, data, len, to, ttl);
}

bool Engine::Push(UpEvent event) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(up_mu_);
    bool control = event.kind == UpEvent::kControl;
    // A flood of handshakes must not grow memory: drop, and count it. Events are a few per peer
    // (one handshake request per REKEY_TIMEOUT, one confirmation per session), so a handshake
    // flood cannot crowd them out — a dropped confirmation would leave JavaScript's timers wrong —
    // and only a JavaScript thread stalled for long would see them reach their own, larger bound.
    if (control ? up_handshakes_ >= config_.up_queue_max : up_.size() >= 4 * config_.up_queue_max) {
      counters_.up_queue_dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (control) up_handshakes_++;
    was_empty = up_.empty() && overlay_up_.empty();
    up_.push_back(std::move(event));
  }
  if (was_empty) notify_();
  return true;
}

bool Engine::PushOverlay(UpEvent event) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(up_mu_);
    if (overlay_up_.size() >= config_.up_queue_max) {
      counters_.overlay_queue_dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    was_empty = up_.empty() && overlay_up_.empty();
    overlay_up_.push_back(std::move(event));
  }
  if (was_empty) notify_();
  return true;
}

std::deque<UpEvent> Engine::DrainEvents() {
  std::lock_guard<std::mutex> lock(up_mu_);
  // Handshakes and events first: a session waits on them, gossip does not.
  std::deque<UpEvent> out;
  out.swap(up_);
  up_handshakes_ = 0;
  for (auto& e : overlay_up_) out.push_back(std::move(e));
  overlay_up_.clear();
  return out;
}

void Engine::SetSealedScreen(const uint8_t key[admission::kMac1KeySize]) {
  // Set once, before traffic is expected; the receive thread reads the key only after the flag.
  if (screen_set_.load()) return;
  std::memcpy(screen_key_, key, sizeof screen_key_);
  screen_set_.store(true, std::memory_order_release);
}

void Engine::HandleControl(admission::Kind kind, const uint8_t* p, size_t n, const sockaddr_in6& from, PeerId sender,
                           PeerId via, int64_t now, uint16_t socket) {
  bool handshake = kind == admission::Kind::kHandshake;
  bool admitted = handshake ? AdmitHandshake(p, n, from, via != kNoPeer, now, socket)
                             : AdmitOverlay(kind, p, n, sender, from, now);
  if (!admitted) return;
  UpEvent::Kind up = kind == admission::Kind::kStun ? UpEvent::kStun : UpEvent::kControl;
  UpEvent e{up, sender, 0, from, std::vector<uint8_t>(p, p + n), via, socket};
  e.at_ns = MonotonicNs();
  // Counted once it is queued: a datagram dropped for a full queue is counted there instead.
  if (handshake ? Push(std::move(e)) : PushOverlay(std::move(e)))
    counters_.rx_control.fetch_add(1, std::memory_order_relaxed);
}

bool Engine::AdmitHandshake(const uint8_t* p, size_t n, const sockaddr_in6& from, bool relayed, int64_t now,
                            uint16_t from_socket) {
  if (p[0] == wire::kCookieReply || !handshake_screen_.configured()) return true;
  uint8_t reply[wire::kCookieReplySize];
  switch (handshake_screen_.Screen(p, n, from, relayed, now, reply)) {
    case HandshakeScreen::Verdict::kUp:
      return true;
    case HandshakeScreen::Verdict::kBadMac1:
      counters_.rx_handshake_bad_mac1.fetch_add(1, std::memory_order_relaxed);
      return false;
    case HandshakeScreen::Verdict::kCookie:
      // One datagram out per datagram in, smaller than it, and at most cookies_per_second.
      counters_.rx_handshake_cookie.fetch_add(1, std::memory_order_relaxed);
      if (SendFrom(from_socket, reply, sizeof reply, from) != 0)
        counters_.tx_send_failed.fetch_add(1, std::memory_order_relaxed);
      return false;
    case HandshakeScreen::Verdict::kCookieRate:
      counters_.rx_handshake_cookie_rate.fetch_add(1, std::memory_order_relaxed);
      return false;
    case HandshakeScreen::Verdict::kSourceRate:
      counters_.rx_handshake_source_rate.fetch_add(1, std::memory_order_relaxed);
      return false;
  }
  return false;
}

bool Engine::AdmitOverlay(admission::Kind kind, const uint8_t* p, size_t n, PeerId sender, const sockaddr_in6& from,
                          int64_t now) {
  Peer* member = nullptr;
  if (kind == admission::Kind::kSealed) {
    if (screen_set_.load(std::memory_order_acquire) && !admission::SealedMac1Ok(screen_key_, p, n)) {
      counters_.rx_sealed_bad_mac.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // Through a relay the envelope already named (and authenticated) the member it came from.
    member = sender != kNoPeer ? table_.Find(sender) : table_.FindByPublicKey(p + admission::kSenderKeyAt);
  }
  if (member) {
    // The header's key is a claim until JavaScript opens the box: whoever spoofs a member's key
    // from another address draws on that member's second bucket, never on the one its messages
    // from its known endpoint (or through an authenticated envelope) use.
    Endpoint known = member->GetEndpoint();
    bool usual = sender != kNoPeer || (known.set && Peer::SameAddress(known.addr, from));
    bool admitted = usual ? member->sealed_budget.Take(config_.sealed_per_peer_per_second,
                                                        config_.sealed_per_peer_burst, now)
                          : member->sealed_elsewhere.Take(config_.sealed_elsewhere_per_second,
                                                          config_.sealed_elsewhere_per_second, now);
    if (admitted) return true;
    counters_.rx_overlay_member_rate.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (strangers_.Take(config_.strangers_per_second, config_.strangers_burst, now)) return true;
  counters_.rx_overlay_stranger_rate.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Engine::WantHandshake(Peer& peer, int64_t now) {
  // Tell JavaScript at most once per REKEY_TIMEOUT; its timers own retries (whitepaper §6.4).
  int64_t last = peer.handshake_wanted_ms.load(std::memory_order_relaxed);
  if (last != 0 && now - last < config_.rekey_timeout_ms) return;
  if (!peer.handshake_wanted_ms.compare_exchange_strong(last, now)) return;
  UpEvent e{UpEvent::kHandshakeNeeded, peer.id, 0, {}, {}};
  Push(std::move(e));
}

bool Engine::Usable(const Session& s, int64_t now) const {
  return now - s.created_ms < config_.reject_after_time_ms &&
         s.send_counter.load(std::memory_order_relaxed) < ReplayWindow::kRejectAfterMessages;
}

size_t Engine::Seal(TransportAead& aead, Session& s, uint64_t counter, uint8_t* slot, size_t len) {
  return SealTransport(aead, s.send_key, s.remote_index, counter, slot, len, config_.mtu);
}

// ---- JavaScript-thread operations --------------------------------------------------------------

void Engine::SetPeer(PeerId id, const std::vector<IpPrefix>& allowed, const sockaddr_in6* endpoint, bool forward,
                     const uint8_t* public_key) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  auto& slot = table_.peers[id];
  if (!slot) slot = std::make_unique<Peer>(id);
  slot->forward = forward;
  if (public_key) {
    if (slot->has_public_key) table_.by_public_key.erase(slot->public_key);
    std::memcpy(slot->public_key.data(), public_key, slot->public_key.size());
    slot->has_public_key = true;
    table_.by_public_key[slot->public_key] = id;
  }
  table_.routes.RemovePeer(id);
  for (const auto& p : allowed) table_.routes.Insert(p.addr, static_cast<int>(p.AddrSize()), p.length, id);
  if (endpoint) slot->UpdateEndpoint(*endpoint, extras_.SocketFor(*endpoint));
}

void Engine::SetEndpoint(PeerId id, const sockaddr_in6& endpoint) {
  std::shared_lock<std::shared_mutex> lock(table_.mu);
  if (Peer* p = table_.Find(id)) p->UpdateEndpoint(endpoint, extras_.SocketFor(endpoint));
}

void Engine::RemovePeer(PeerId id) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  Peer* p = table_.Find(id);
  if (!p) return;
  for (auto* s : {&p->current, &p->previous, &p->next}) table_.Forget(*s);
  table_.routes.RemovePeer(id);
  if (p->relay) table_.by_relay_tag.erase(p->relay->remote_tag);
  if (p->has_public_key) {
    auto it = table_.by_public_key.find(p->public_key);
    if (it != table_.by_public_key.end() && it->second == id) table_.by_public_key.erase(it);
  }
  table_.peers.erase(id);
}

void Engine::InstallSession(PeerId id, const SessionParams& params) {
  {
    std::unique_lock<std::shared_mutex> lock(table_.mu);
    Peer* peer = table_.Find(id);
    if (!peer) throw std::invalid_argument("unknown peer " + std::to_string(id));
    if (table_.by_index.count(params.local_index))
      throw std::invalid_argument("session index " + std::to_string(params.local_index) + " is in use");
    auto s = std::make_shared<Session>();
    s->local_index = params.local_index;
    s->remote_index = params.remote_index;
    std::memcpy(s->send_key, params.send_key, kKeySize);
    std::memcpy(s->recv_key, params.recv_key, kKeySize);
    s->we_initiated = params.we_initiated;
    s->created_ms = MonotonicMs();
    s->peer = id;
    table_.by_index[s->local_index] = s;
    if (params.we_initiated) {
      // whitepaper §5.4.5: the initiator may send at once; the old current keeps receiving.
      table_.Forget(peer->previous);
      peer->previous = std::move(peer->current);
      peer->current = std::move(s);
    } else {
      table_.Forget(peer->next);
      peer->next = std::move(s);
    }
    peer->handshake_wanted_ms.store(0);
  }
  if (params.we_initiated) FlushStaged(id, js_aead_);
}

void Engine::RemoveSession(uint32_t local_index) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  auto s = table_.FindSession(local_index);
  if (!s) return;
  table_.Forget(s);
  if (Peer* p = table_.Find(s->peer)) {
    for (auto* slot : {&p->current, &p->previous, &p->next})
      if (*slot == s) slot->reset();
  }
}

void Engine::ClearSessions(PeerId id) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  Peer* p = table_.Find(id);
  if (!p) return;
  for (auto* slot : {&p->current, &p->previous, &p->next}) {
    table_.Forget(*slot);
    slot->reset();
  }
  std::lock_guard<std::mutex> staged(p->staged_mu);
  p->staged.clear();
}

int Engine::SendControl(const uint8_t* data, size_t len, const sockaddr_in6& to, int socket, int ttl) {
  if (socket == kBoundSocket) return SendFrom(extras_.SocketFor(to), data, len, to, ttl);
  if (socket < 0 || socket > ExtraSockets::kMax) return -1;
  return SendFrom(static_cast<uint16_t>(socket), data, len, to, ttl);
}

void Engine::FlushStaged(PeerId id, TransportAead& aead) {
  std::shared_lock<std::shared_mutex> lock(table_.mu);
  Peer* peer = table_.Find(id);  // it may have been removed since the session was installed
  if (!peer || !peer->current) return;
  std::deque<std::vector<uint8_t>> staged;
  {
    std::lock_guard<std::mutex> guard(peer->staged_mu);
    staged.swap(peer->staged);
  }
  if (staged.empty()) return;
  Session& s = *peer->current;
  NoteTraffic();  // whoever flushes (a confirming receive, an initiator's install): data leaves now
  // Headroom for a relay envelope (relay.cc) in front of the datagram.
  std::vector<uint8_t> buf(wire::kEnvelopeHeader + wire::kTransportHeader + config_.mtu + wire::kPadding + wire::kTag);
  uint8_t* datagram = buf.data() + wire::kEnvelopeHeader;
  int64_t now = MonotonicMs();
  for (auto& packet : staged) {
    if (packet.size() > config_.mtu) continue;
    std::memcpy(datagram + wire::kTransportHeader, packet.data(), packet.size());
    uint64_t counter = s.send_counter.fetch_add(1, std::memory_order_relaxed);
    size_t n = Seal(aead, s, counter, datagram, packet.size());
    if (n == 0 || SendOneToPeer(aead, *peer, datagram, n) != 0) {
      counters_.tx_send_failed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    peer->stats.tx_packets.fetch_add(1, std::memory_order_relaxed);
    peer->stats.tx_bytes.fetch_add(n, std::memory_order_relaxed);
    peer->stats.last_tx_ms.store(now, std::memory_order_relaxed);
    peer->stats.last_tx_data_ms.store(now, std::memory_order_relaxed);
  }
}

bool Engine::SendKeepalive(PeerId id) {
  std::shared_lock<std::shared_mutex> lock(table_.mu);
  Peer* peer = table_.Find(id);
  int64_t now = MonotonicMs();
  if (!peer || !peer->current || !Usable(*peer->current, now)) return false;
  uint8_t buf[wire::kEnvelopeHeader + wire::kTransportMin];
  uint8_t* datagram = buf + wire::kEnvelopeHeader;  // headroom for a relay envelope
  Session& s = *peer->current;
  // whitepaper §6.5: a keepalive is a transport message with an empty (unpadded) payload.
  size_t n = Seal(js_aead_, s, s.send_counter.fetch_add(1, std::memory_order_relaxed), datagram, 0);
  if (n == 0 || SendOneToPeer(js_aead_, *peer, datagram, n) != 0) return false;
  peer->stats.tx_packets.fetch_add(1, std::memory_order_relaxed);
  peer->stats.tx_bytes.fetch_add(n, std::memory_order_relaxed);
  peer->stats.last_tx_ms.store(now, std::memory_order_relaxed);
  return true;
}

Engine::PeerSnapshot Engine::Snapshot(PeerId id) {
  std::shared_lock<std::shared_mutex> lock(table_.mu);
  PeerSnapshot snap{};
  Peer* p = table_.Find(id);
  if (!p) return snap;
  snap.found = true;
  snap.rx_bytes = p->stats.rx_bytes.load();
  snap.rx_packets = p->stats.rx_packets.load();
  snap.tx_bytes = p->stats.tx_bytes.load();
  snap.tx_packets = p->stats.tx_packets.load();
  snap.last_rx_ms = p->stats.last_rx_ms.load();
  snap.last_rx_data_ms = p->stats.last_rx_data_ms.load();
  snap.last_tx_ms = p->stats.last_tx_ms.load();
  snap.last_tx_data_ms = p->stats.last_tx_data_ms.load();
  snap.endpoint = p->GetEndpoint();
  snap.current_index = p->current ? p->current->local_index : 0;
  snap.previous_index = p->previous ? p->previous->local_index : 0;
  snap.next_index = p->next ? p->next->local_index : 0;
  snap.current_age_ms = p->current ? MonotonicMs() - p->current->created_ms : -1;
  snap.relay_via = p->relay_via;
  snap.has_relay_key = p->relay != nullptr;
  std::lock_guard<std::mutex> staged(p->staged_mu);
  snap.staged = p->staged.size();
  return snap;
}

}  // namespace overlay
