#include "udp_socket.h"

#include <arpa/inet.h>
#include <netinet/udp.h>

#include <cerrno>
#include <cstring>

#include "../errors.h"
#include "peer_table.h"

namespace overlay {

namespace {

sockaddr_in ToV4(const sockaddr_in6& a) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = a.sin6_port;
  std::memcpy(&v4.sin_addr, a.sin6_addr.s6_addr + 12, 4);
  return v4;
}

void FromV4(const sockaddr_in& v4, sockaddr_in6* out) {
  *out = sockaddr_in6{};
  out->sin6_family = AF_INET6;
  out->sin6_port = v4.sin_port;
  out->sin6_addr.s6_addr[10] = 0xff;
  out->sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(out->sin6_addr.s6_addr + 12, &v4.sin_addr, 4);
}

}  // namespace

UdpSocket::UdpSocket(uint16_t port) {
  const std::string what = "udp socket";
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    fd_ = UniqueFd(fd);
    int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) {
      throw SysError(errno == EADDRINUSE ? code::kAddrInUse : CodeForErrno(errno), errno, "bind", what,
                     "bind UDP port " + std::to_string(port));
    }
  } else if (errno == EAFNOSUPPORT) {
    dual_stack_ = false;
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw SysError(errno, "socket", what, "create UDP socket");
    fd_ = UniqueFd(fd);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) {
      throw SysError(errno == EADDRINUSE ? code::kAddrInUse : CodeForErrno(errno), errno, "bind", what,
                     "bind UDP port " + std::to_string(port));
    }
  } else {
    throw SysError(errno, "socket", what, "create UDP socket");
  }
  // Bursts from many peers must not be dropped by a small default buffer while a batch is in
  // flight; the kernel caps this at net.core.rmem_max unless we are privileged (SO_*BUFFORCE).
  int size = 4 << 20;
  if (::setsockopt(fd_.Get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd_.Get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (::setsockopt(fd_.Get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd_.Get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd_.Get(), reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

bool UdpSocket::EnableGro(std::atomic<uint64_t>* received) {
  int one = 1;
  gro_ = ::setsockopt(fd_.Get(), SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  if (!gro_) return false;
  gro_received_ = received;
  gro_buf_.resize(kGroMessages * kGroMessageSize);
  gro_msgs_.resize(kGroMessages);
  return true;
}

size_t UdpSocket::RecvGro(uint8_t* base, size_t stride, size_t capacity, uint32_t* lens, sockaddr_in6* from,
                          size_t max) {
  constexpr size_t kControl = CMSG_SPACE(sizeof(int));
  size_t out = 0;
  // Bounded: each pass hands out at least one datagram, or receives, or returns.
  while (out < max) {
    if (next_ == held_) {
      auto& msgs = recv_.msgs;
      auto& iovs = recv_.iovs;
      auto& names = recv_.names;
      if (msgs.size() < kGroMessages) {
        msgs.resize(kGroMessages);
        iovs.resize(kGroMessages);
        names.resize(kGroMessages);
      }
      recv_.control.resize(kGroMessages * kControl);
      for (size_t i = 0; i < kGroMessages; i++) {
        msgs[i] = mmsghdr{};
        iovs[i] = {&gro_buf_[i * kGroMessageSize], kGroMessageSize};
        msghdr& h = msgs[i].msg_hdr;
        h.msg_iov = &iovs[i];
        h.msg_iovlen = 1;
        h.msg_name = &names[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_control = &recv_.control[i * kControl];
        h.msg_controllen = kControl;
      }
      int n;
      do {
        n = ::recvmmsg(fd_.Get(), msgs.data(), kGroMessages, MSG_DONTWAIT, nullptr);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return out;
      for (int i = 0; i < n; i++) {
        msghdr& h = msgs[i].msg_hdr;
        GroMessage& m = gro_msgs_[i];
        m.len = msgs[i].msg_len;
        m.segment = m.len;
        for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
          if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(int))) continue;
          int size;
          std::memcpy(&size, CMSG_DATA(c), sizeof size);
          if (size > 0 && static_cast<size_t>(size) < m.len) m.segment = static_cast<size_t>(size);
        }
        if (m.segment < m.len && gro_received_) gro_received_->fetch_add(1, std::memory_order_relaxed);
        // Truncated (more than 64 KB): the last piece is short and fails as any damaged datagram.
        auto& name = names[i];
        if (name.ss_family == AF_INET6) {
          std::memcpy(&m.from, &name, sizeof m.from);
        } else {
          FromV4(*reinterpret_cast<sockaddr_in*>(&name), &m.from);
        }
      }
      held_ = static_cast<size_t>(n);
      next_ = 0;
      offset_ = 0;
    }
    GroMessage& m = gro_msgs_[next_];
    size_t piece = m.len - offset_ < m.segment ? m.len - offset_ : m.segment;
    // A datagram larger than the slot is dropped, as recvmmsg's truncation would have it.
    if (piece <= capacity) std::memcpy(base + out * stride, &gro_buf_[next_ * kGroMessageSize + offset_], piece);
    lens[out] = piece <= capacity ? static_cast<uint32_t>(piece) : 0;
    from[out] = m.from;
    out++;
    offset_ += piece;
    if (offset_ >= m.len) {
      next_++;
      offset_ = 0;
    }
  }
  return out;
}

size_t UdpSocket::RecvBatch(uint8_t* base, size_t stride, size_t capacity, uint32_t* lens, sockaddr_in6* from,
                            size_t max) {
  if (gro_) return RecvGro(base, stride, capacity, lens, from, max);
  auto& msgs = recv_.msgs;
  auto& iovs = recv_.iovs;
  auto& names = recv_.names;
  if (msgs.size() < max) {
    msgs.resize(max);
    iovs.resize(max);
    names.resize(max);
  }
  for (size_t i = 0; i < max; i++) {
    msgs[i] = mmsghdr{};
    iovs[i] = {base + i * stride, capacity};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = dual_stack_ ? static_cast<void*>(&from[i]) : static_cast<void*>(&names[i]);
    msgs[i].msg_hdr.msg_namelen = dual_stack_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_storage);
  }
  int n;
  do {
    n = ::recvmmsg(fd_.Get(), msgs.data(), static_cast<unsigned>(max), MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
  for (int i = 0; i < n; i++) {
    // A datagram larger than the slot is truncated by the kernel; mark it so it gets dropped.
    lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
    if (!dual_stack_) FromV4(*reinterpret_cast<sockaddr_in*>(&names[i]), &from[i]);
  }
  return static_cast<size_t>(n);
}

bool UdpSocket::EnableGso(std::atomic<uint64_t>* sent, std::atomic<uint64_t>* refused,
                          std::atomic<uint64_t>* too_big) {
  gso_sent_ = sent;
  gso_refused_ = refused;
  gso_too_big_ = too_big;
  int zero = 0;  // asks whether the option exists; the size goes with each message
  bool ok = ::setsockopt(fd_.Get(), SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
  gso_.store(ok);
  return ok;
}

size_t UdpSocket::SendBatch(uint8_t* const* bufs, const uint32_t* lens, const sockaddr_in6* to, size_t count,
                             Caller caller) {
  Scratch& scratch = caller == Caller::kSendThread ? send_ : forward_;
  auto& msgs = scratch.msgs;
  auto& iovs = scratch.iovs;
  auto& names = scratch.names;
  constexpr size_t kControl = CMSG_SPACE(sizeof(uint16_t));
  if (msgs.size() < count) {
    msgs.resize(count);
    iovs.resize(count);
    names.resize(count);
    scratch.first.resize(count + 1);
    scratch.control.resize(count * kControl);
  }
  const bool gso = gso_.load(std::memory_order_relaxed);
  const uint32_t max_segment = gso_max_segment_.load(std::memory_order_relaxed);
  size_t m = 0;
  for (size_t i = 0; i < count;) {
    // The run [i, j): same destination, every datagram but the last exactly lens[i] bytes.
    size_t j = i + 1;
    size_t bytes = lens[i];
    while (gso && lens[i] <= max_segment && j < count && j - i < kMaxSegments && lens[j - 1] == lens[i] &&
           lens[j] <= lens[i] &&
           bytes + lens[j] <= kMaxGsoBytes && Peer::SameAddress(to[j], to[i])) {
      bytes += lens[j];
      j++;
    }
    for (size_t k = i; k < j; k++) iovs[k] = {bufs[k], lens[k]};
    msgs[m] = mmsghdr{};
    msghdr& h = msgs[m].msg_hdr;
    h.msg_iov = &iovs[i];
    h.msg_iovlen = j - i;
    if (dual_stack_) {
      h.msg_name = const_cast<sockaddr_in6*>(&to[i]);
      h.msg_namelen = sizeof(sockaddr_in6);
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&names[m]);
      *v4 = ToV4(to[i]);
      h.msg_name = v4;
      h.msg_namelen = sizeof(sockaddr_in);
    }
    if (j - i > 1) {
      h.msg_control = &scratch.control[m * kControl];
      h.msg_controllen = kControl;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t segment = static_cast<uint16_t>(lens[i]);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
    scratch.first[m++] = i;
    i = j;
  }
  scratch.first[m] = count;
  size_t done = 0;  // messages
  size_t sent = 0;  // datagrams in them
  // Bounded: every pass either sends at least one message or skips one.
  while (done < m) {
    int n = ::sendmmsg(fd_.Get(), msgs.data() + done, static_cast<unsigned>(m - done), 0);
    if (n > 0) {
      for (int k = 0; k < n; k++, done++) {
        size_t segments = scratch.first[done + 1] - scratch.first[done];
        sent += segments;
        if (segments > 1 && gso_sent_) gso_sent_->fetch_add(1, std::memory_order_relaxed);
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;  // socket buffer full: the rest is lost, as a router would drop it
    } else if (n < 0 && (errno == EMSGSIZE || errno == EINVAL) && scratch.first[done + 1] - scratch.first[done] > 1) {
      // Segments larger than the path's MTU less the headers (EMSGSIZE from ip_append_data, or
      // EINVAL from udp_send_skb: gso_size > fragsize): these the kernel would fragment one by one
      // but never segment. Once skipped as a refused destination, the whole run was lost. No runs
      // of this size again (bounded: the cap only falls), and the rest is sent anew.
      size_t from = scratch.first[done];
      uint32_t cap = lens[from] - 1;
      uint32_t seen = gso_max_segment_.load(std::memory_order_relaxed);
      while (cap < seen && !gso_max_segment_.compare_exchange_weak(seen, cap, std::memory_order_relaxed)) {
      }
      if (gso_too_big_) gso_too_big_->fetch_add(1, std::memory_order_relaxed);
      return sent + SendBatch(bufs + from, lens + from, to + from, count - from, caller);
    } else if (n < 0 && errno == EIO && scratch.first[done + 1] - scratch.first[done] > 1) {
      // The kernel cannot segment at all here (a device without checksum offload): GSO off for
      // good, counted, and the rest goes one datagram per message.
      gso_.store(false, std::memory_order_relaxed);
      if (gso_refused_) gso_refused_->fetch_add(1, std::memory_order_relaxed);
      size_t from = scratch.first[done];
      return sent + SendBatch(bufs + from, lens + from, to + from, count - from, caller);
    } else {
      // this destination is refused; do not let it block the rest of the batch
      done++;
    }
  }
  return sent;
}

int UdpSocket::SendOne(const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl) {
  if (ttl > 0) return SendWithTtl(data, len, to, ttl);
  ssize_t n;
  if (dual_stack_) {
    n = ::sendto(fd_.Get(), data, len, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  } else {
    sockaddr_in v4 = ToV4(to);
    n = ::sendto(fd_.Get(), data, len, 0, reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
  }
  return n < 0 ? errno : 0;
}

// sendmsg with IP_TTL (an IPv4 or v4-mapped destination) or IPV6_HOPLIMIT as ancillary data: the
// socket's own TTL, which the data path's sends share, is never changed.
int UdpSocket::SendWithTtl(const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl) {
  if (ttl > 255) return EINVAL;
  sockaddr_in v4 = ToV4(to);
  bool mapped = IN6_IS_ADDR_V4MAPPED(&to.sin6_addr);
  iovec iov{const_cast<uint8_t*>(data), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  if (dual_stack_) {
    msg.msg_name = const_cast<sockaddr_in6*>(&to);
    msg.msg_namelen = sizeof to;
  } else {
    msg.msg_name = &v4;
    msg.msg_namelen = sizeof v4;
  }
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  // A dual-stack socket sends to a v4-mapped address as IPv4, and takes IPv4's ancillary data then.
  c->cmsg_level = mapped || !dual_stack_ ? IPPROTO_IP : IPPROTO_IPV6;
  c->cmsg_type = mapped || !dual_stack_ ? IP_TTL : IPV6_HOPLIMIT;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
  return ::sendmsg(fd_.Get(), &msg, 0) < 0 ? errno : 0;
}

bool ParseEndpoint(const std::string& text, sockaddr_in6* out) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned long p = std::stoul(port);
  if (p == 0 || p > 65535) return false;
  *out = sockaddr_in6{};
  out->sin6_family = AF_INET6;
  out->sin6_port = htons(static_cast<uint16_t>(p));
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    out->sin6_addr.s6_addr[10] = 0xff;
    out->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(out->sin6_addr.s6_addr + 12, &v4, 4);
    return true;
  }
  return inet_pton(AF_INET6, host.c_str(), &out->sin6_addr) == 1;
}

std::string FormatEndpoint(const sockaddr_in6& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  const uint8_t* a = addr.sin6_addr.s6_addr;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::string port = std::to_string(ntohs(addr.sin6_port));
  if (std::memcmp(a, kMapped, 12) == 0) {
    inet_ntop(AF_INET, a + 12, buf, sizeof buf);
    return std::string(buf) + ":" + port;
  }
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + port;
}

}  // namespace overlay
