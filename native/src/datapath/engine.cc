#include "engine.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "../errors.h"
#include "wire.h"

namespace overlay {

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

bool Peer::SameAddress(const sockaddr_in6& a, const sockaddr_in6& b) {
  return a.sin6_port == b.sin6_port && std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
}

Engine::Engine(int tun_fd, const EngineConfig& config, std::function<void()> notify)
    : config_(config), tun_(::fcntl(tun_fd, F_DUPFD_CLOEXEC, 0)), socket_(config.port), notify_(std::move(notify)) {
  if (!tun_.Valid()) throw SysError(errno, "fcntl", "datapath", "duplicate the TUN descriptor");
  int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) throw SysError(errno, "eventfd", "datapath", "create wake-up eventfd");
  wake_ = UniqueFd(wake);
  if (!js_aead_.ok()) throw TunError(code::kOther, 0, nullptr, "datapath: OpenSSL has no ChaCha20-Poly1305");
}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  if (send_thread_.joinable()) return;
  send_thread_ = std::thread([this] { SendLoop(); });
  receive_thread_ = std::thread([this] { ReceiveLoop(); });
}

void Engine::Stop() {
  stopping_.store(true);
  uint64_t one = 1;
  if (wake_.Valid()) (void)!::write(wake_.Get(), &one, sizeof one);
  if (send_thread_.joinable()) send_thread_.join();
  if (receive_thread_.joinable()) receive_thread_.join();
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

void Engine::Push(UpEvent event) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(up_mu_);
    if (up_.size() >= config_.up_queue_max) {
      // A flood of handshakes or junk must not grow memory: drop, and count it.
      counters_.up_queue_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = up_.empty();
    up_.push_back(std::move(event));
  }
  if (was_empty) notify_();
}

std::deque<UpEvent> Engine::DrainEvents() {
  std::lock_guard<std::mutex> lock(up_mu_);
  std::deque<UpEvent> out;
  out.swap(up_);
  return out;
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

void Engine::SetPeer(PeerId id, const std::vector<IpPrefix>& allowed, const sockaddr_in6* endpoint, bool forward) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  auto& slot = table_.peers[id];
  if (!slot) slot = std::make_unique<Peer>(id);
  slot->forward = forward;
  table_.routes.RemovePeer(id);
  for (const auto& p : allowed) table_.routes.Insert(p.addr, static_cast<int>(p.AddrSize()), p.length, id);
  if (endpoint) slot->UpdateEndpoint(*endpoint);
}

void Engine::SetEndpoint(PeerId id, const sockaddr_in6& endpoint) {
  std::shared_lock<std::shared_mutex> lock(table_.mu);
  if (Peer* p = table_.Find(id)) p->UpdateEndpoint(endpoint);
}

void Engine::RemovePeer(PeerId id) {
  std::unique_lock<std::shared_mutex> lock(table_.mu);
  Peer* p = table_.Find(id);
  if (!p) return;
  for (auto* s : {&p->current, &p->previous, &p->next}) table_.Forget(*s);
  table_.routes.RemovePeer(id);
  if (p->relay) table_.by_relay_tag.erase(p->relay->remote_tag);
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

int Engine::SendControl(const uint8_t* data, size_t len, const sockaddr_in6& to) {
  return socket_.SendOne(data, len, to);
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
