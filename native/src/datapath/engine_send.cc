// The send thread: TUN → peers.
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine.h"
#include "slots.h"
#include "tso.h"
#include "virtio_net.h"
#include "wire.h"

namespace overlay {

void Engine::SendLoop() {
  const size_t batch = config_.batch;
  // Each slot: room for an envelope and the transport header, the packet, padding, the tag. One
  // read of a TCP super-packet fills up to ~46 of them (64 KB in MTU-sized segments), so there
  // are twice as many slots as reads per round; a round whose slots run out is sealed and sent
  // in the middle, and goes on.
  const wire::SendSlot layout = wire::SendSlotFor(config_.mtu);
  const size_t capacity = layout.capacity;
  const size_t head = layout.head;
  const size_t slot = layout.size;
  const size_t slots = 2 * batch;
  std::vector<uint8_t> buffers(slot * slots);
  std::vector<uint8_t*> out(slots);
  std::vector<uint32_t> out_len(slots);
  std::vector<sockaddr_in6> out_to(slots);
  std::vector<uint16_t> out_socket(slots);  // 0: the main socket (extra_sockets.h)
  std::vector<uint32_t> len(slots);
  // A read lands in a slot (virtio-net header in front of it, in `vnet`); what does not fit (a
  // super-packet) goes on into `spill` behind room for the slot's part, which is copied in front
  // of it so the super-packet is whole there.
  uint8_t vnet[virtio::kHeaderSize];
  std::vector<uint8_t> spill(capacity + wire::kMaxDatagram);
  TransportAead aead;
  if (!aead.ok()) return;

  // Seals and sends slots [0, filled) as one run; returns with none filled.
  size_t filled = 0;
  auto flush = [&] {
    size_t count = 0;
    int64_t now = MonotonicMs();
    {
      std::shared_lock<std::shared_mutex> lock(table_.mu);
      for (size_t i = 0; i < filled; i++) {
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
        size_t n = SealForPeer(aead, *peer, buf, len[i], now, &out_to[count], &out[count], &out_socket[count]);
        if (n == 0) continue;
        out_len[count] = static_cast<uint32_t>(n);
        count++;
      }
    }
    if (count > 0) {
      size_t sent = SendOut(out.data(), out_len.data(), out_to.data(), out_socket.data(), count,
                            UdpSocket::Caller::kSendThread);
      counters_.tx_packets.fetch_add(sent, std::memory_order_relaxed);
      if (sent < count) counters_.tx_send_failed.fetch_add(count - sent, std::memory_order_relaxed);
      NoteTraffic();
    }
    filled = 0;
  };

  while (WaitReadable(tun_.Get())) {
    // Bounded: at most `batch` reads per round, and each round blocks in poll() when idle.
    for (;;) {
      size_t reads = 0;
      while (reads < batch) {
        if (filled == slots) flush();
        uint8_t* packet = &buffers[filled * slot + layout.packet];
        iovec iov[3] = {{vnet, sizeof vnet}, {packet, capacity}, {spill.data() + capacity, wire::kMaxDatagram}};
        ssize_t r = ::readv(tun_.Get(), iov, 3);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        reads++;
        virtio::Header h;
        if (!virtio::Parse(vnet, static_cast<size_t>(r), &h)) {
          counters_.tun_read_bad.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        size_t n = static_cast<size_t>(r) - virtio::kHeaderSize;
        if (h.gso_type == virtio::kGsoNone) {
          if (n > config_.mtu || ((h.flags & virtio::kNeedsCsum) && !tso::CompleteChecksum(h, packet, n))) {
            counters_.tun_read_bad.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          len[filled++] = static_cast<uint32_t>(n);
          continue;
        }
        // A TCP super-packet (TSO): whole in `spill`, then split into the slots from this one on.
        uint8_t* super = spill.data();
        std::memcpy(super, packet, n < capacity ? n : capacity);
        tso::Plan plan;
        if (n > capacity + wire::kMaxDatagram || !tso::PlanSegments(h, super, n, config_.mtu, &plan)) {
          counters_.tun_gso_bad.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        counters_.tun_gso_read.fetch_add(1, std::memory_order_relaxed);
        for (size_t k = 0; k < plan.segments; k++) {
          if (filled == slots) flush();
          len[filled] = static_cast<uint32_t>(
              tso::WriteSegment(plan, super, k, &buffers[filled * slot + layout.packet]));
          filled++;
        }
      }
      if (reads == 0) break;
      flush();
      if (reads < batch) break;  // the device is drained; back to poll()
      if (stopping_.load(std::memory_order_relaxed)) return;
    }
  }
}

size_t Engine::SealForPeer(TransportAead& aead, Peer& peer, uint8_t* slot, size_t len, int64_t now,
                           sockaddr_in6* dest, uint8_t** start, uint16_t* socket) {
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
  n = Address(aead, peer, slot, n, dest, start, socket);
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

bool Engine::ForUs(const wire::InnerPacket& inner) const {
  if (config_.local_addresses.empty()) return true;
  for (const IpPrefix& own : config_.local_addresses) {
    if (static_cast<int>(own.AddrSize()) != inner.addr_bytes) continue;
    int whole = own.length / 8, rest = own.length % 8;
    if (std::memcmp(own.addr, inner.dst, whole) != 0) continue;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    if ((own.addr[whole] & mask) == (inner.dst[whole] & mask)) return true;
  }
  return false;
}

}  // namespace overlay
