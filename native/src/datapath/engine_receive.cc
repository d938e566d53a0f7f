// The receive thread: peers → TUN.
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine.h"
#include "gro.h"
#include "slots.h"
#include "virtio_net.h"
#include "wire.h"

namespace overlay {

void Engine::ReceiveLoop() {
  const size_t batch = config_.batch;
  // Each datagram's slot: room in front for an envelope, then the datagram, then padding room.
  const wire::ReceiveSlot layout = wire::ReceiveSlotFor(config_.mtu);
  const size_t capacity = layout.capacity;
  const size_t head = layout.head;
  const size_t slot = layout.size;
  std::vector<uint8_t> buffers(slot * batch);
  std::vector<uint8_t*> fwd(batch);
  std::vector<uint32_t> fwd_len(batch);
  std::vector<sockaddr_in6> fwd_to(batch);
  std::vector<uint16_t> fwd_socket(batch);
  std::vector<uint32_t> len(batch);
  std::vector<sockaddr_in6> from(batch);
  std::vector<uint8_t*> deliver(batch);
  std::vector<size_t> deliver_len(batch);
  std::vector<std::shared_ptr<Session>> confirm;
  GroScratch gro(batch);
  TransportAead aead;
  if (!aead.ok()) return;

  // Readable sockets: the main one (0) and extras (extra_sockets.h), whose datagrams are handled
  // alike but for the socket a peer's endpoint then names.
  uint16_t readable[16];
  size_t readable_n = 0;
  while (WaitReceive(readable, 16, &readable_n)) {
    for (size_t r = 0; r < readable_n; r++) {
      const uint16_t sock_id = readable[r];
      std::shared_ptr<UdpSocket> extra = sock_id == 0 ? nullptr : extras_.Get(sock_id);
      UdpSocket* sock = sock_id == 0 ? &socket_ : extra.get();
      if (!sock) continue;  // closed since it was reported
      for (;;) {
        size_t got = sock->RecvBatch(buffers.data() + head, slot, capacity, len.data(), from.data(), batch);
        if (got == 0) break;
        counters_.rx_datagrams.fetch_add(got, std::memory_order_relaxed);
        extras_.CountRx(sock_id, got);
        size_t ready = 0;
        size_t forwards = 0;
        size_t relays = 0;  // of the forwards, relay envelopes (counted on their own)
        bool moved = false;  // a peer's transport was authenticated: for the traffic watch
        int64_t now = MonotonicMs();
        {
          std::shared_lock<std::shared_mutex> lock(table_.mu);
          for (size_t i = 0; i < got; i++) {
            uint8_t* p = &buffers[i * slot + head];
            size_t n = len[i];
            // A relay envelope is forwarded for another member, or opened: then what it carries is
            // handled as if it had come from the peer it names (`sender`), with two differences:
            // the envelope's source is the relay's, so it is no roaming endpoint of the sender's,
            // and a control message goes up saying which relay brought it.
            PeerId via = kNoPeer, sender = kNoPeer;
            if (wire::IsEnvelope(p, n)) {
              RelayHop hop = HandleEnvelope(aead, p, n, now, &fwd_to[forwards], &fwd_socket[forwards]);
              if (hop.action == RelayHop::kForward) {
                fwd[forwards] = p;
                fwd_len[forwards] = static_cast<uint32_t>(n);
                forwards++;
                relays++;
              }
              if (hop.action != RelayHop::kInner) continue;
              via = hop.via;
              sender = hop.sender;
              p += wire::kEnvelopeHeader;
              n -= wire::kEnvelopeHeader;
              if (wire::IsEnvelope(p, n)) {  // envelopes in envelopes: one hop only
                counters_.relay_malformed.fetch_add(1, std::memory_order_relaxed);
                continue;
              }
            }
            wire::TransportHeader header;
            if (!wire::ParseTransport(p, n, &header)) {
              // Anything else goes up to JavaScript, if admission.h lets it.
              admission::Kind kind = admission::Classify(p, n, via != kNoPeer);
              if (kind == admission::Kind::kJunk) {
                counters_.rx_junk.fetch_add(1, std::memory_order_relaxed);
                continue;
              }
              HandleControl(kind, p, n, from[i], sender, via, now, sock_id);
              continue;
            }
            counters_.rx_transport.fetch_add(1, std::memory_order_relaxed);
            // Not necessarily a multiple of 16: padding stops at the MTU (whitepaper §5.4.6).
            size_t body = header.body;
            std::shared_ptr<Session> s = table_.FindSession(header.receiver);
            if (!s) {
              counters_.rx_unknown_index.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            if (via != kNoPeer && s->peer != sender) {
              // The session is another peer's than the envelope claims: a confused or lying relay.
              counters_.relay_wrong_sender.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            uint64_t counter = header.counter;
            if (!s->replay.Check(counter)) {
              counters_.rx_replay.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            if (now - s->created_ms >= config_.reject_after_time_ms) {
              counters_.rx_expired.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            uint8_t* plain = p + wire::kTransportHeader;
            if (!aead.Open(s->recv_key, counter, plain, body, plain)) {
              counters_.rx_auth_failed.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            if (!s->replay.Accept(counter)) {
              counters_.rx_replay.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            Peer* peer = table_.Find(s->peer);
            if (!peer) continue;
            peer->stats.rx_packets.fetch_add(1, std::memory_order_relaxed);
            moved = true;
            peer->stats.rx_bytes.fetch_add(n, std::memory_order_relaxed);
            peer->stats.last_rx_ms.store(now, std::memory_order_relaxed);
            if (via == kNoPeer && peer->UpdateEndpoint(from[i], sock_id)) {
              UpEvent e{UpEvent::kEndpointChanged, peer->id, 0, from[i], {}, kNoPeer, sock_id};
              Push(std::move(e));
            }
            if (s == peer->next) confirm.push_back(s);
            // whitepaper §6.2: an initiator whose session nears REJECT_AFTER_TIME rekeys on receipt.
            if (s->we_initiated &&
                now - s->created_ms >=
                    config_.reject_after_time_ms - config_.keepalive_timeout_ms - config_.rekey_timeout_ms) {
              WantHandshake(*peer, now);
            }
            if (body == 0) {
              counters_.rx_keepalive.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            wire::InnerPacket inner;
            if (!wire::ParseInner(plain, body, &inner)) {
              counters_.rx_bad_inner.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            // Cryptokey routing (whitepaper §2): the inner source must be one the sender owns.
            if (table_.routes.Lookup(inner.src, inner.addr_bytes) != peer->id) {
              counters_.rx_source_denied.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            peer->stats.last_rx_data_ms.store(now, std::memory_order_relaxed);
            if (Peer* to = ForwardTarget(*peer, inner)) {
              if (!wire::DecrementHopLimit(plain, inner)) {
                counters_.forward_hop_limit.fetch_add(1, std::memory_order_relaxed);
                continue;
              }
              size_t out = SealForPeer(aead, *to, p, inner.length, now, &fwd_to[forwards], &fwd[forwards],
                                       &fwd_socket[forwards]);
              if (out == 0) continue;
              fwd_len[forwards] = static_cast<uint32_t>(out);
              forwards++;
              continue;
            }
            if (!ForUs(inner)) {
              counters_.rx_destination_denied.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            deliver[ready] = plain;
            deliver_len[ready] = inner.length;
            ready++;
          }
        }
        if (!confirm.empty()) {
          std::unique_lock<std::shared_mutex> lock(table_.mu);
          for (auto& s : confirm) {
            Peer* peer = table_.Find(s->peer);
            if (!peer || peer->next != s) continue;
            // whitepaper §5.4.5: the responder's new session is confirmed by its first packet.
            table_.Forget(peer->previous);
            peer->previous = std::move(peer->current);
            peer->current = std::move(peer->next);
            UpEvent e{UpEvent::kSessionConfirmed, peer->id, s->local_index, {}, {}};
            Push(std::move(e));
          }
          lock.unlock();
          for (auto& s : confirm) FlushStaged(s->peer, aead);
          confirm.clear();
        }
        if (forwards > 0) {
          size_t sent = SendOut(fwd.data(), fwd_len.data(), fwd_to.data(), fwd_socket.data(), forwards,
                                UdpSocket::Caller::kReceiveThread);
          counters_.forwarded.fetch_add(sent > relays ? sent - relays : 0, std::memory_order_relaxed);
          if (sent < forwards) counters_.tx_send_failed.fetch_add(forwards - sent, std::memory_order_relaxed);
        }
        if (ready > 0) Deliver(deliver.data(), deliver_len.data(), ready, gro);
        if (moved) NoteTraffic();
        if (got < batch) break;
        if (stopping_.load(std::memory_order_relaxed)) return;
      }
    }
  }
}

void Engine::Deliver(uint8_t* const* packets, const size_t* lens, size_t n, GroScratch& scratch) {
  // Every packet sits behind its transport header, which is spent now: its virtio-net header is
  // written into the kHeaderSize bytes before it, so a lone packet goes out in one write().
  static_assert(virtio::kHeaderSize <= wire::kTransportHeader, "the header goes where the transport header was");
  gro::Plan plan{scratch.groups.data(), scratch.next.data()};
  if (offload_) {
    gro::PlanBatch(packets, lens, n, scratch.segments.data(), &plan);
  } else {
    for (size_t i = 0; i < n; i++) plan.groups[i] = {uint32_t(i), uint32_t(i), 1, uint32_t(lens[i])};
    plan.group_count = n;
  }
  for (size_t g = 0; g < plan.group_count; g++) {
    const gro::Group& group = plan.groups[g];
    uint8_t* first = packets[group.first];
    virtio::Header h;
    size_t iovs = 1;
    scratch.iov[0] = {first - virtio::kHeaderSize, virtio::kHeaderSize + lens[group.first]};
    if (group.count > 1) {
      h = gro::Finish(packets, scratch.segments.data(), group);
      // The other members add their payloads, behind their own headers.
      for (uint32_t i = plan.next[group.first]; i != gro::kEnd; i = plan.next[i]) {
        const gro::detail::Segment& s = scratch.segments[i];
        scratch.iov[iovs++] = {packets[i] + s.ip_len + s.tcp_len, s.payload};
      }
    }
    virtio::Write(h, first - virtio::kHeaderSize);
    ssize_t w;
    do {
      w = ::writev(tun_.Get(), scratch.iov.data(), static_cast<int>(iovs));
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      counters_.tun_write_failed.fetch_add(group.count, std::memory_order_relaxed);
    } else if (group.count > 1) {
      counters_.tun_gro_written.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace overlay
