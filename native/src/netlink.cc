#include "netlink.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "errors.h"
#include "unique_fd.h"

namespace overlay {
namespace netlink {
namespace {

constexpr int kAckTimeoutMs = 2000;
constexpr int kMaxReplies = 16;  // replies that are not our ack before we give up

// Attributes follow the family header at nlmsg_len, wherever that header's size puts them.
struct Request {
  nlmsghdr header;
  union {
    ifaddrmsg ifa;
    rtmsg rtm;
  };
  char attrs[64];
};

rtattr* AppendAttr(Request* req, unsigned short type, const void* data, size_t size) {
  size_t offset = NLMSG_ALIGN(req->header.nlmsg_len);
  if (offset + RTA_SPACE(size) > sizeof(Request)) throw std::logic_error("rtnetlink request overflows its buffer");
  auto* attr = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(req) + offset);
  attr->rta_type = type;
  attr->rta_len = RTA_LENGTH(size);
  if (size > 0) std::memcpy(RTA_DATA(attr), data, size);
  req->header.nlmsg_len = offset + RTA_ALIGN(attr->rta_len);
  return attr;
}

// Closes a nest opened by AppendAttr(req, type, nullptr, 0): it spans everything appended since.
void EndNest(Request* req, rtattr* nest) {
  nest->rta_len = static_cast<unsigned short>(reinterpret_cast<char*>(req) + req->header.nlmsg_len -
                                              reinterpret_cast<char*>(nest));
}

UniqueFd OpenRoute(const std::string& device, const std::string& action) {
  UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.Valid()) throw SysError(errno, "socket", device, action);
  timeval timeout{kAckTimeoutMs / 1000, (kAckTimeoutMs % 1000) * 1000};
  setsockopt(fd.Get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Sends one request and waits for the kernel's ack; a nonzero error in the ack is thrown.
void Transact(Request* req, const char* request_name, const std::string& device,
              const std::string& action) {
  UniqueFd fd = OpenRoute(device, action);
  static std::atomic<uint32_t> next_seq{1};
  req->header.nlmsg_seq = next_seq++;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent = sendto(fd.Get(), req, req->header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
                        sizeof kernel);
  if (sent < 0) throw SysError(errno, "sendto", device, action);

  alignas(nlmsghdr) char reply[8192];
  for (int i = 0; i < kMaxReplies; i++) {
    ssize_t got = recv(fd.Get(), reply, sizeof reply, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw SysError(errno, "recv", device, action);
    }
    int len = static_cast<int>(got);
    for (auto* msg = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(msg, len); msg = NLMSG_NEXT(msg, len)) {
      if (msg->nlmsg_seq != req->header.nlmsg_seq || msg->nlmsg_type != NLMSG_ERROR) continue;
      int err = -static_cast<nlmsgerr*>(NLMSG_DATA(msg))->error;
      if (err != 0) throw SysError(err, request_name, device, action);
      return;
    }
  }
  throw SysError(code::kOther, ETIMEDOUT, "recv", device, action + ": no ack from rtnetlink");
}

void ChangeAddress(uint16_t type, uint16_t flags, int ifindex, const IpPrefix& prefix,
                   const std::string& device, const std::string& action) {
  Request req{};
  req.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.header.nlmsg_type = type;
  req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  req.ifa.ifa_family = static_cast<unsigned char>(prefix.family);
  req.ifa.ifa_prefixlen = static_cast<unsigned char>(prefix.length);
  req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  req.ifa.ifa_index = static_cast<unsigned>(ifindex);
  // IFA_LOCAL is the address itself; IFA_ADDRESS the peer's on point-to-point links. Giving
  // both the same value is what makes the kernel install the on-link prefix route.
  AppendAttr(&req, IFA_LOCAL, prefix.addr, prefix.AddrSize());
  AppendAttr(&req, IFA_ADDRESS, prefix.addr, prefix.AddrSize());
  if (prefix.family == AF_INET6 && type == RTM_NEWADDR) {
    uint32_t addr_flags = IFA_F_NODAD;
    req.ifa.ifa_flags = IFA_F_NODAD;  // the u8 field, for kernels that predate IFA_FLAGS
    AppendAttr(&req, IFA_FLAGS, &addr_flags, sizeof addr_flags);
  }
  Transact(&req, type == RTM_NEWADDR ? "RTM_NEWADDR" : "RTM_DELADDR", device, action);
}

// A unicast route for `prefix` out `ifindex` in the main table. RTPROT_STATIC marks it as ours:
// deletion matches on it, so it never takes away the kernel's on-link prefix route.
Request RouteRequest(uint16_t type, uint16_t flags, int ifindex, const IpPrefix& prefix) {
  Request req{};
  req.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.header.nlmsg_type = type;
  req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  req.rtm.rtm_family = static_cast<unsigned char>(prefix.family);
  req.rtm.rtm_dst_len = static_cast<unsigned char>(prefix.length);
  req.rtm.rtm_table = RT_TABLE_MAIN;
  req.rtm.rtm_protocol = RTPROT_STATIC;
  req.rtm.rtm_type = RTN_UNICAST;
  // Deleting with RT_SCOPE_NOWHERE matches any scope, as `ip route del` does.
  req.rtm.rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
  uint32_t oif = static_cast<uint32_t>(ifindex);
  AppendAttr(&req, RTA_DST, prefix.addr, prefix.AddrSize());
  AppendAttr(&req, RTA_OIF, &oif, sizeof oif);
  return req;
}

}  // namespace

void AddAddress(int ifindex, const IpPrefix& prefix, const std::string& device) {
  ChangeAddress(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, prefix, device, "cannot add address");
}

void RemoveAddress(int ifindex, const IpPrefix& prefix, const std::string& device) {
  ChangeAddress(RTM_DELADDR, 0, ifindex, prefix, device, "cannot remove address");
}

void SetRouteMtu(int ifindex, const IpPrefix& prefix, uint32_t mtu, const std::string& device) {
  Request req = RouteRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, ifindex, prefix);
  rtattr* metrics = AppendAttr(&req, RTA_METRICS, nullptr, 0);
  AppendAttr(&req, RTAX_MTU, &mtu, sizeof mtu);
  EndNest(&req, metrics);
  Transact(&req, "RTM_NEWROUTE", device, "cannot set route MTU " + std::to_string(mtu));
}

void RemoveRouteMtu(int ifindex, const IpPrefix& prefix, const std::string& device) {
  Request req = RouteRequest(RTM_DELROUTE, 0, ifindex, prefix);
  try {
    Transact(&req, "RTM_DELROUTE", device, "cannot remove route");
  } catch (const TunError& e) {
    // Nothing to remove is the state the caller asked for (IPv4 says ESRCH, IPv6 ENOENT).
    if (e.err() != ESRCH && e.err() != ENOENT) throw;
  }
}

}  // namespace netlink
}  // namespace overlay
