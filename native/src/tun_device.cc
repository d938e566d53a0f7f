#include "tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "errors.h"

// <net/if.h> clashes with <linux/if.h>; this is the one function needed from it.
extern "C" unsigned int if_nametoindex(const char* ifname);

namespace overlay {
namespace {

constexpr const char* kCloneDevice = "/dev/net/tun";
// The legacy virtio-net header the kernel puts in front of each packet (datapath/virtio_net.h).
constexpr size_t kVnetHeader = 10;

std::string Describe(const std::string& name) { return name.empty() ? "(kernel-chosen name)" : name; }

// Link ioctls need some socket in the right network namespace; a datagram socket is the
// cheapest. One per call keeps the device from pinning a second fd.
UniqueFd ControlSocket(const std::string& device, const std::string& action) {
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.Valid()) throw SysError(errno, "socket", device, action);
  return sock;
}

ifreq RequestFor(const std::string& name) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());  // validated to fit, NUL from {}
  return ifr;
}

}  // namespace

std::string TunNameOf(int fd) {
  ifreq ifr{};
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) throw SysError(errno, "ioctl(TUNGETIFF)", "tun", "cannot read the device name");
  return std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
}

void SetTxQueueLength(const std::string& name, uint32_t packets) {
  const std::string action = "cannot set the transmit queue length to " + std::to_string(packets);
  UniqueFd sock = ControlSocket(name, action);
  ifreq ifr = RequestFor(name);
  ifr.ifr_qlen = static_cast<int>(packets);
  if (ioctl(sock.Get(), SIOCSIFTXQLEN, &ifr) < 0) throw SysError(errno, "ioctl(SIOCSIFTXQLEN)", name, action);
}

bool ReadTxDropped(const std::string& name, uint64_t* dropped) {
  // Two header lines, then "  NAME: rx bytes packets errs drop fifo frame compressed multicast
  // tx bytes packets errs drop ..." (net/core/net-procfs.c): TX dropped is the 12th number.
  std::FILE* f = std::fopen("/proc/self/net/dev", "re");
  if (!f) return false;
  char line[512];
  bool found = false;
  for (int lines = 0; lines < 100000 && std::fgets(line, sizeof line, f); lines++) {
    char* colon = std::strchr(line, ':');
    if (!colon) continue;
    char* start = line;
    while (*start == ' ') start++;
    if (std::string(start, colon) != name) continue;
    unsigned long long v[12];
    found = std::sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                        &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) == 12;
    if (found) *dropped = v[11];
    break;
  }
  std::fclose(f);
  return found;
}

void ValidateInterfaceName(const std::string& name) {
  // The kernel's dev_valid_name(): <= 15 bytes, not "." or "..", no '/', ':' or whitespace.
  // Checked here too so a bad name is EINVAL with a reason, not whatever the ioctl returns.
  if (name.empty()) return;
  auto invalid = [&](const std::string& why) {
    return InvalidArgument(Describe(name), "bad interface name: " + why);
  };
  if (name.size() > kMaxNameLength) throw invalid("longer than 15 bytes");
  if (name == "." || name == "..") throw invalid("\".\" and \"..\" are reserved");
  for (unsigned char c : name) {
    if (c == '/' || c == ':' || std::isspace(c) || c == 0 || c >= 0x7f) {
      throw invalid("contains '/', ':', whitespace or a non-ASCII byte");
    }
  }
}

TunDevice::TunDevice(const std::string& requested) {
  ValidateInterfaceName(requested);
  const std::string shown = Describe(requested);

  fd_ = UniqueFd(open(kCloneDevice, O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd_.Valid()) {
    int err = errno;
    bool missing = err == ENOENT || err == ENODEV || err == ENXIO;
    throw SysError(missing ? code::kNoTun : CodeForErrno(err), err, "open", shown,
                   std::string("cannot open ") + kCloneDevice);
  }

  ifreq ifr = RequestFor(requested);
  // IFF_VNET_HDR: every packet read or written has a virtio-net header in front of it
  // (datapath/virtio_net.h), so the data path can turn on offloads (TUNSETOFFLOAD) and move TCP
  // super-packets; until it does the header says nothing, and ReadBatch/WriteBatch hide it.
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd_.Get(), TUNSETIFF, &ifr) < 0) {
    int err = errno;
    fd_.Reset();
    // An existing link that is not a TUN we may attach to (a veth, a dummy, a TAP, a TUN made
    // with other flags) gives EINVAL; to the caller that means "the name is taken".
    if (err == EINVAL && !requested.empty() && if_nametoindex(requested.c_str()) != 0) {
      throw SysError(code::kBusy, err, "ioctl(TUNSETIFF)", shown,
                     "cannot create device: the name is taken by an interface that is not a usable TUN");
    }
    throw SysError(err, "ioctl(TUNSETIFF)", shown, "cannot create device");
  }
  name_ = ifr.ifr_name;

  UniqueFd sock = ControlSocket(name_, "cannot look up device index");
  ifreq index_req = RequestFor(name_);
  if (ioctl(sock.Get(), SIOCGIFINDEX, &index_req) < 0) {
    int err = errno;
    fd_.Reset();
    throw SysError(err, "ioctl(SIOCGIFINDEX)", name_, "cannot look up device index");
  }
  ifindex_ = index_req.ifr_ifindex;
}

void TunDevice::RequireOpen(const char* action) const {
  if (closed()) throw SysError(code::kOther, EBADF, nullptr, name_, std::string(action) + ": device is closed");
}

void TunDevice::SetMtu(int mtu) {
  RequireOpen("cannot set MTU");
  UniqueFd sock = ControlSocket(name_, "cannot set MTU");
  ifreq ifr = RequestFor(name_);
  ifr.ifr_mtu = mtu;
  if (ioctl(sock.Get(), SIOCSIFMTU, &ifr) < 0) {
    throw SysError(errno, "ioctl(SIOCSIFMTU)", name_, "cannot set MTU " + std::to_string(mtu));
  }
}

int TunDevice::Mtu() const {
  RequireOpen("cannot read MTU");
  UniqueFd sock = ControlSocket(name_, "cannot read MTU");
  ifreq ifr = RequestFor(name_);
  if (ioctl(sock.Get(), SIOCGIFMTU, &ifr) < 0) throw SysError(errno, "ioctl(SIOCGIFMTU)", name_, "cannot read MTU");
  return ifr.ifr_mtu;
}

short TunDevice::Flags() const {
  UniqueFd sock = ControlSocket(name_, "cannot read flags");
  ifreq ifr = RequestFor(name_);
  if (ioctl(sock.Get(), SIOCGIFFLAGS, &ifr) < 0) {
    throw SysError(errno, "ioctl(SIOCGIFFLAGS)", name_, "cannot read flags");
  }
  return ifr.ifr_flags;
}

void TunDevice::SetUp(bool up) {
  const char* action = up ? "cannot bring device up" : "cannot bring device down";
  RequireOpen(action);
  UniqueFd sock = ControlSocket(name_, action);
  ifreq ifr = RequestFor(name_);
  ifr.ifr_flags = Flags();
  ifr.ifr_flags = up ? (ifr.ifr_flags | IFF_UP) : (ifr.ifr_flags & ~IFF_UP);
  if (ioctl(sock.Get(), SIOCSIFFLAGS, &ifr) < 0) throw SysError(errno, "ioctl(SIOCSIFFLAGS)", name_, action);
}

bool TunDevice::IsUp() const {
  RequireOpen("cannot read flags");
  return (Flags() & IFF_UP) != 0;
}

size_t TunDevice::ReadBatch(uint8_t* base, size_t slot, uint32_t* lens, size_t max) {
  RequireOpen("cannot read");
  size_t n = 0;
  uint8_t vnet[kVnetHeader];
  while (n < max) {
    iovec iov[2] = {{vnet, sizeof vnet}, {base + n * slot, slot}};
    ssize_t got = readv(fd_.Get(), iov, 2);
    if (got >= 0) {
      got = got > static_cast<ssize_t>(kVnetHeader) ? got - static_cast<ssize_t>(kVnetHeader) : 0;
      lens[n++] = static_cast<uint32_t>(got);
      stats_.rx_packets++;
      stats_.rx_bytes += static_cast<uint64_t>(got);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || n > 0) break;
    throw SysError(errno, "read", name_, "cannot read packet");
  }
  return n;
}

size_t TunDevice::WriteBatch(const uint8_t* base, size_t slot, const uint32_t* lens, size_t count) {
  RequireOpen("cannot write");
  size_t i = 0;
  uint8_t vnet[kVnetHeader] = {};  // no offload asked for: GSO none, checksums complete
  while (i < count) {
    iovec iov[2] = {{vnet, sizeof vnet}, {const_cast<uint8_t*>(base + i * slot), lens[i]}};
    ssize_t put = writev(fd_.Get(), iov, 2);
    if (put >= 0) {
      stats_.tx_packets++;
      stats_.tx_bytes += lens[i];
      i++;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EINVAL) {
      stats_.tx_rejected++;
      i++;
      continue;
    }
    if (errno == EAGAIN || i > 0) break;
    throw SysError(errno, "write", name_, "cannot write packet");
  }
  return i;
}

}  // namespace overlay
