// An interface address with its prefix length, parsed from "ADDR/LEN" text.
#pragma once

#include <cstdint>
#include <string>

namespace overlay {

struct IpPrefix {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t addr[16] = {};
  int length = 0;  // prefix length in bits

  size_t AddrSize() const;
};

// Throws TunError EINVAL (naming `device`) unless `cidr` is "IPv4/0..32" or "IPv6/0..128".
// The prefix is required: guessing /32 would silently give a peer no route.
IpPrefix ParseIpPrefix(const std::string& cidr, const std::string& device);

}  // namespace overlay
