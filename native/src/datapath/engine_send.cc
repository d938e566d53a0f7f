// The send thread: TUN → peers.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine.h"
#include "slots.h"
#include "wire.h"

namespace overlay {

void Engine::SendLoop() {
  const size_t batch = config_.batch;
  // Each slot: room for an envelope and the transport header, the packet, padding, the tag.
  const wire::SendSlot layout = wire::SendSlotFor(config_.mtu);
  const size_t capacity = layout.capacity;
  const size_t head = layout.head;
  const size_t slot = layout.size;
  std::vector<uint8_t> buffers(slot * batch);
  std::vector<uint8_t*> out(batch);
  std::vector<uint32_t> out_len(batch);
  std::vector<sockaddr_in6> out_to(batch);
  std::vector<uint32_t> len(batch);
  TransportAead aead;
  if (!aead.ok()) return;

  while (WaitReadable(tun_.Get())) {
    // Bounded: at most `batch` reads per round, and each round blocks in poll() when idle.
    for (;;) {
      size_t got = 0;
      while (got < batch) {
        ssize_t n = ::read(tun_.Get(), &buffers[got * slot + layout.packet], capacity);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (static_cast<size_t>(n) > config_.mtu) {
          counters_.tun_read_bad.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        len[got++] = static_cast<uint32_t>(n);
      }
      if (got == 0) break;

      size_t count = 0;
      int64_t now = MonotonicMs();
      {
        std::shared_lock<std::shared_mutex> lock(table_.mu);
        for (size_t i = 0; i < got; i++) {
          uint8_t* buf = &buffers[i * slot + head];
          uint8_t* packet = buf + wire::kTransportHeader;
          wire::InnerPacket inner;
          if (!wire::ParseInner(packet, len[i], &inner)) {
            counters_.tun_read_bad.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          PeerId id = table_.routes.Lookup(inner.dst, inner.addr_bytes);
          Peer* peer = id == kNoPeer ? nullptr : table_.Find(id);
          if (!peer) {
            counters_.tx_no_route.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          size_t n = SealForPeer(aead, *peer, buf, len[i], now, &out_to[count], &out[count]);
          if (n == 0) continue;
          out_len[count] = static_cast<uint32_t>(n);
          count++;
        }
      }
      if (count > 0) {
        size_t sent = socket_.SendBatch(out.data(), out_len.data(), out_to.data(), count);
        counters_.tx_packets.fetch_add(sent, std::memory_order_relaxed);
        if (sent < count) counters_.tx_send_failed.fetch_add(count - sent, std::memory_order_relaxed);
      }
      if (got < batch) break;  // the device is drained; back to poll()
      if (stopping_.load(std::memory_order_relaxed)) return;
    }
  }
}

size_t Engine::SealForPeer(TransportAead& aead, Peer& peer, uint8_t* slot, size_t len, int64_t now,
                           sockaddr_in6* dest, uint8_t** start) {
  Session* s = peer.current.get();
  if (!s || !Usable(*s, now)) {
    uint8_t* packet = slot + wire::kTransportHeader;
    std::lock_guard<std::mutex> staged(peer.staged_mu);
    if (peer.staged.size() >= config_.staged_per_peer) {
      peer.staged.pop_front();  // keep the newest, as WireGuard does
      counters_.tx_staged_dropped.fetch_add(1, std::memory_order_relaxed);
    }
    peer.staged.emplace_back(packet, packet + len);
    counters_.tx_staged.fetch_add(1, std::memory_order_relaxed);
    WantHandshake(peer, now);
    return 0;
  }
  uint64_t counter = s->send_counter.fetch_add(1, std::memory_order_relaxed);
  // whitepaper §6.2: the initiator rekeys after REKEY_AFTER_TIME or REKEY_AFTER_MESSAGES.
  if (counter >= config_.rekey_after_messages || (s->we_initiated && now - s->created_ms >= config_.rekey_after_time_ms)) {
    WantHandshake(peer, now);
  }
  size_t n = Seal(aead, *s, counter, slot, len);
  if (n == 0) {
    counters_.tx_send_failed.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  // After sealing: a counter spent on a datagram with no path is a harmless gap for the receiver.
  n = Address(aead, peer, slot, n, dest, start);
  if (n == 0) return 0;
  peer.stats.tx_packets.fetch_add(1, std::memory_order_relaxed);
  peer.stats.tx_bytes.fetch_add(n, std::memory_order_relaxed);
  peer.stats.last_tx_ms.store(now, std::memory_order_relaxed);
  peer.stats.last_tx_data_ms.store(now, std::memory_order_relaxed);
  return n;
}

Peer* Engine::ForwardTarget(const Peer& from, const wire::InnerPacket& inner) {
  PeerId to_id = table_.routes.Lookup(inner.dst, inner.addr_bytes);
  // A destination that routes back to the sender can only be addressed to us.
  if (to_id == kNoPeer || to_id == from.id) return nullptr;
  Peer* to = table_.Find(to_id);
  if (!to || !(from.forward || to->forward)) return nullptr;
  return to;
}

}  // namespace overlay
