// Extra UDP sockets beside the node's main one (issue 13, point 3: birthday probing). A member
// behind a NAT that maps every destination to a new port opens many of them, each a hole at its
// NAT toward one peer; the one the peer's probe comes in on then carries that peer's traffic, so
// the data path sends a peer's datagrams from, and receives on, the socket its endpoint names
// (Endpoint::socket, 0 for the main one).
//
// Ownership: JavaScript opens and closes them (a few hundred per attempt at most, kMax in all).
// Every thread reaches one only through Get(), which hands out a shared_ptr under a small mutex,
// so a socket closed meanwhile stays open until the thread that holds it is done: its fd is
// never reused under a thread's feet. The receive thread learns which are readable from the
// engine's epoll set, which Open and Close keep in step. Each socket counts what it moved.
#pragma once

#include <netinet/in.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "udp_socket.h"

namespace overlay {

class ExtraSockets {
 public:
  // Sockets open at once at most: one attempt's holes (256) and the winners kept beside them.
  static constexpr uint16_t kMax = 320;

  // `epoll_fd`: the receive thread's set; each socket is added with its id as the event's data.
  explicit ExtraSockets(int epoll_fd) : epoll_(epoll_fd) {}

  // Opens a socket on a port the kernel picks; its id (1..kMax), or 0 when kMax are open.
  uint16_t Open(uint16_t* port);
  // Closes socket `id` (and forgets any destination bound to it); unknown ids are ignored.
  void Close(uint16_t id);
  std::shared_ptr<UdpSocket> Get(uint16_t id);
  // One datagram from socket `id`: 0, an errno, or -1 when it is not open.
  int SendOne(uint16_t id, const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl = 0);
  void CountRx(uint16_t id, size_t n);

  // Datagrams to `to` that name no socket (handshakes, endpoints JavaScript sets) leave from `id`;
  // 0 unbinds. At most one socket per destination, and only open sockets are bound.
  void Bind(const sockaddr_in6& to, uint16_t id);
  // The socket bound to `to`, 0 (the main one) if none.
  uint16_t SocketFor(const sockaddr_in6& to);

  struct Stat {
    uint16_t id, port;
    uint64_t rx_packets, tx_packets;
  };
  std::vector<Stat> Stats();
  size_t open() const { return open_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::shared_ptr<UdpSocket> socket;
    uint16_t port = 0;
    std::atomic<uint64_t> rx{0}, tx{0};
  };
  static std::string Key(const sockaddr_in6& a);
  int epoll_;
  std::mutex mu_;
  std::array<Slot, kMax + 1> slots_;  // [0] unused: 0 names the main socket
  std::unordered_map<std::string, uint16_t> bound_;
  std::atomic<size_t> open_{0};
};

}  // namespace overlay
