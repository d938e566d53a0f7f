#include "extra_sockets.h"

#include <sys/epoll.h>

#include <cstring>

namespace overlay {

uint16_t ExtraSockets::Open(uint16_t* port) {
  std::lock_guard<std::mutex> lock(mu_);
  for (uint16_t id = 1; id <= kMax; id++) {
    Slot& s = slots_[id];
    if (s.socket) continue;
    auto socket = std::make_shared<UdpSocket>(0);  // throws TunError when the kernel says no
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = id;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, socket->fd(), &ev) != 0) return 0;
    s.socket = std::move(socket);
    s.port = s.socket->port();
    s.rx.store(0);
    s.tx.store(0);
    open_.fetch_add(1, std::memory_order_relaxed);
    *port = s.port;
    return id;
  }
  return 0;
}

void ExtraSockets::Close(uint16_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id == 0 || id > kMax || !slots_[id].socket) return;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, slots_[id].socket->fd(), nullptr);
  slots_[id].socket.reset();  // the fd closes once no thread holds it
  open_.fetch_sub(1, std::memory_order_relaxed);
  for (auto it = bound_.begin(); it != bound_.end();) it = it->second == id ? bound_.erase(it) : std::next(it);
}

std::shared_ptr<UdpSocket> ExtraSockets::Get(uint16_t id) {
  if (id == 0 || id > kMax) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  return slots_[id].socket;
}

int ExtraSockets::SendOne(uint16_t id, const uint8_t* data, size_t len, const sockaddr_in6& to, int ttl) {
  std::shared_ptr<UdpSocket> s = Get(id);
  if (!s) return -1;
  int err = s->SendOne(data, len, to, ttl);
  if (err == 0) slots_[id].tx.fetch_add(1, std::memory_order_relaxed);
  return err;
}

void ExtraSockets::CountRx(uint16_t id, size_t n) {
  if (id != 0 && id <= kMax) slots_[id].rx.fetch_add(n, std::memory_order_relaxed);
}

std::string ExtraSockets::Key(const sockaddr_in6& a) {
  std::string k(reinterpret_cast<const char*>(&a.sin6_addr), sizeof a.sin6_addr);
  k.append(reinterpret_cast<const char*>(&a.sin6_port), sizeof a.sin6_port);
  return k;
}

void ExtraSockets::Bind(const sockaddr_in6& to, uint16_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id == 0 || id > kMax || !slots_[id].socket) {
    bound_.erase(Key(to));
    return;
  }
  // Bounded: one entry per open socket at most.
  for (auto it = bound_.begin(); it != bound_.end();) it = it->second == id ? bound_.erase(it) : std::next(it);
  bound_[Key(to)] = id;
}

uint16_t ExtraSockets::SocketFor(const sockaddr_in6& to) {
  if (open_.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = bound_.find(Key(to));
  return it == bound_.end() ? 0 : it->second;
}

std::vector<ExtraSockets::Stat> ExtraSockets::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Stat> out;
  for (uint16_t id = 1; id <= kMax; id++) {
    const Slot& s = slots_[id];
    if (s.socket) out.push_back({id, s.port, s.rx.load(), s.tx.load()});
  }
  return out;
}

}  // namespace overlay
