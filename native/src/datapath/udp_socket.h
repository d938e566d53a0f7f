// The node's UDP socket: one dual-stack IPv6 socket (IPv4 peers appear as v4-mapped addresses),
// moved in batches with recvmmsg/sendmmsg so a batch costs one system call, not one per packet.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../unique_fd.h"

namespace overlay {

class UdpSocket {
 public:
  // Binds [::]:port (0 = kernel's choice), falling back to 0.0.0.0 where IPv6 is off.
  // Throws TunError on failure (a port in use as EADDRINUSE).
  explicit UdpSocket(uint16_t port);

  int fd() const { return fd_.Get(); }
  uint16_t port() const { return port_; }
  bool dual_stack() const { return dual_stack_; }

  // Receive thread only. Receives up to `max` datagrams into slots of `slot` bytes; lengths and sources out.
  // Returns the count, 0 when nothing is waiting.
  // Datagram i lands at base + i * stride, at most `capacity` (<= stride) bytes of it.
  // With UDP GRO (EnableGro) the kernel hands over runs of one sender's datagrams as one message;
  // they are cut apart here and copied into the slots, and what does not fit this call waits for
  // the next, so fewer than `max` still means nothing more is waiting.
  size_t RecvBatch(uint8_t* base, size_t stride, size_t capacity, uint32_t* lens, sockaddr_in6* from, size_t max);

  // Which data-path thread calls SendBatch: each has its own scratch (the receive thread sends
  // what it forwards between peers).
  enum class Caller { kSendThread, kReceiveThread };

  // Sends `count` datagrams (pointers, lengths, destinations). Returns how many the kernel took;
  // a datagram the kernel refuses outright (unreachable, too big) is skipped, not retried.
  // With UDP GSO (EnableGso), a run of datagrams to one destination, all of one length but the
  // last (which may be shorter), goes in one message with UDP_SEGMENT: the kernel cuts it into the
  // same datagrams, at one pass through the stack instead of one each.
  size_t SendBatch(uint8_t* const* bufs, const uint32_t* lens, const sockaddr_in6* to, size_t count,
                   Caller caller = Caller::kSendThread);

  // Turns UDP GSO on if the kernel takes UDP_SEGMENT; false (and off) if not. `sent` counts the
  // messages that carried two or more datagrams, `refused` the times the kernel refused one at
  // send time for want of offload (EIO: GSO is then off for good and the datagrams go one by one),
  // `too_big` the runs it refused because their datagrams exceed what the path takes unfragmented
  // (EMSGSIZE or EINVAL: a relay envelope around a full-size packet; they go one by one and are fragmented,
  // and runs are made only of smaller datagrams from then on, so one such burst does not cost every
  // peer its GSO). All outlive the socket.
  bool EnableGso(std::atomic<uint64_t>* sent, std::atomic<uint64_t>* refused, std::atomic<uint64_t>* too_big);

  // Turns UDP GRO on if the kernel takes it (before the receive thread starts); `received` counts
  // the messages that held two or more datagrams. False (and off) if not.
  bool EnableGro(std::atomic<uint64_t>* received);

  // One datagram from the JavaScript thread (handshakes, discovery). Returns errno or 0. A `ttl`
  // of 1..255 sets this datagram's IP TTL (hop limit) alone, as ancillary data: discovery's
  // openers must die past our own NAT, before the peer's (issue 13); 0 keeps the socket's default.
  int SendOne(const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl = 0);

 private:
  int SendWithTtl(const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl);
  // SendBatch's runs: messages of up to kMaxSegments datagrams and kMaxGsoBytes bytes in all
  // (the kernel's UDP_MAX_SEGMENTS was 64 before Linux 6.2; an IP packet's length field is 16 bits).
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxGsoBytes = 65000;

  UniqueFd fd_;
  uint16_t port_ = 0;
  bool dual_stack_ = true;
  std::atomic<bool> gso_{false};
  std::atomic<uint64_t>* gso_sent_ = nullptr;
  std::atomic<uint64_t>* gso_refused_ = nullptr;
  std::atomic<uint64_t>* gso_too_big_ = nullptr;
  // Runs are made of datagrams up to this size (the kernel refused a run of larger ones); both
  // data-path threads send, so it is an atomic.
  std::atomic<uint32_t> gso_max_segment_{UINT32_MAX};

  // UDP GRO, the receive thread's alone: messages of up to 64 KB, and how far they have been
  // handed out (message `next_`, byte `offset_`, of `held_` received).
  size_t RecvGro(uint8_t* base, size_t stride, size_t capacity, uint32_t* lens, sockaddr_in6* from, size_t max);
  static constexpr size_t kGroMessages = 8;
  static constexpr size_t kGroMessageSize = 65536;
  bool gro_ = false;
  std::atomic<uint64_t>* gro_received_ = nullptr;
  std::vector<uint8_t> gro_buf_;
  struct GroMessage {
    size_t len;
    size_t segment;  // gso_size, or len when the kernel did not coalesce
    sockaddr_in6 from;
  };
  std::vector<GroMessage> gro_msgs_;
  size_t held_ = 0, next_ = 0, offset_ = 0;
  // Scratch for each batch call, preallocated; the receive and send sides are used by different
  // threads, so each has its own.
  struct Scratch {
    std::vector<mmsghdr> msgs;
    std::vector<iovec> iovs;
    std::vector<sockaddr_storage> names;  // only without dual-stack
    std::vector<size_t> first;            // per message: its first datagram
    std::vector<uint8_t> control;         // per message: room for a UDP_SEGMENT cmsg
  };
  Scratch recv_, send_, forward_;
};

// "1.2.3.4:51820" / "[fd00::1]:51820" <-> sockaddr_in6 (IPv4 as v4-mapped). Parse returns false on
// anything else.
bool ParseEndpoint(const std::string& text, sockaddr_in6* out);
std::string FormatEndpoint(const sockaddr_in6& addr);

}  // namespace overlay
