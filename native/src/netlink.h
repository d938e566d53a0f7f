// Interface address and route configuration over rtnetlink. rtnetlink rather than the SIOCSIFADDR ioctl
// because the ioctl cannot set IPv6 addresses, and rather than running `ip` because a VPN must
// not depend on, or be fooled by, whatever binary is on PATH.
#pragma once

#include <cstdint>
#include <string>

#include "ip_prefix.h"

namespace overlay {
namespace netlink {

// Adds `prefix` to interface `ifindex` (RTM_NEWADDR). IPv6 addresses are added without
// duplicate address detection: a TUN is point-to-point, nobody else can hold the address, and
// DAD would keep the address unusable ("tentative") for a second or more after `up`.
void AddAddress(int ifindex, const IpPrefix& prefix, const std::string& device);

// Removes `prefix` from interface `ifindex` (RTM_DELADDR).
void RemoveAddress(int ifindex, const IpPrefix& prefix, const std::string& device);

// Installs or replaces (RTM_NEWROUTE, NLM_F_REPLACE) a main-table route for `prefix` out
// `ifindex` whose RTAX_MTU metric is `mtu`: a smaller path MTU for destinations behind a relay,
// which wraps each datagram in an envelope, while the interface keeps its own MTU. `prefix` must
// have no bits set past its length (the kernel refuses it otherwise).
void SetRouteMtu(int ifindex, const IpPrefix& prefix, uint32_t mtu, const std::string& device);

// Removes the route SetRouteMtu installed for `prefix` (RTM_DELROUTE); absent is not an error.
void RemoveRouteMtu(int ifindex, const IpPrefix& prefix, const std::string& device);

}  // namespace netlink
}  // namespace overlay
