// The OS side of a TUN interface: the /dev/net/tun file descriptor and the ioctls on the link.
// Plain C++ with no Node-API, so the data-path threads can share it later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "unique_fd.h"

namespace overlay {

struct TunStats {
  uint64_t rx_packets = 0;  // read from the device (leaving the host through the tunnel)
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;  // written to the device (delivered into the host's stack)
  uint64_t tx_bytes = 0;
  uint64_t tx_rejected = 0;  // writes the kernel refused as not IPv4/IPv6
};

// The kernel's name of the TUN interface an fd is attached to (TUNGETIFF); throws TunError.
std::string TunNameOf(int fd);

// Sets interface `name`'s transmit queue length (SIOCSIFTXQLEN): for a TUN, how many packets the
// kernel holds for the reader before it drops (counted as the link's TX dropped). Throws TunError.
void SetTxQueueLength(const std::string& name, uint32_t packets);

// The link's TX dropped count as `ip -s link` shows it, read from /proc/self/net/dev: that file
// belongs to the reading process's network namespace, where the device is, whereas /sys/class/net
// is whatever namespace sysfs was mounted in. False when the link is not listed.
bool ReadTxDropped(const std::string& name, uint64_t* dropped);

// Longest interface name the kernel accepts (IFNAMSIZ - 1).
constexpr size_t kMaxNameLength = 15;

// Throws TunError EINVAL unless the kernel would accept `name` as an interface name; empty means
// "let the kernel choose" and is accepted.
void ValidateInterfaceName(const std::string& name);

class TunDevice {
 public:
  // Creates (or attaches to a persistent) TUN interface with IFF_TUN | IFF_NO_PI. An empty name
  // lets the kernel pick "tunN". The fd is nonblocking; the interface is left down.
  explicit TunDevice(const std::string& name);
  ~TunDevice() = default;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;

  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }
  int fd() const { return fd_.Get(); }
  bool closed() const { return !fd_.Valid(); }
  const TunStats& stats() const { return stats_; }

  // Closing the last fd of a non-persistent TUN makes the kernel delete the interface.
  void Close() { fd_.Reset(); }

  void SetMtu(int mtu);
  int Mtu() const;
  void SetUp(bool up);
  bool IsUp() const;

  // Reads up to `max` packets, packet i into base + i * slot, its length into lens[i]. Stops at
  // the first EAGAIN. Returns the count. A read error is thrown only when nothing was read;
  // otherwise the packets so far are returned and the error recurs on the next call.
  size_t ReadBatch(uint8_t* base, size_t slot, uint32_t* lens, size_t max);

  // Writes packets 0..count-1 laid out as for ReadBatch. Returns how many were consumed; fewer
  // than `count` only when the kernel would block or after an error (thrown if at packet 0).
  // Packets the kernel rejects as malformed are consumed and counted in stats().tx_rejected,
  // so one bad packet cannot stall the ones behind it.
  size_t WriteBatch(const uint8_t* base, size_t slot, const uint32_t* lens, size_t count);

 private:
  void RequireOpen(const char* action) const;
  short Flags() const;

  UniqueFd fd_;
  std::string name_;
  int ifindex_ = 0;
  TunStats stats_;
};

}  // namespace overlay
