#include "netlink.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "errors.h"
#include "unique_fd.h"

namespace overlay {
namespace netlink {
namespace {

constexpr int kAckTimeoutMs = 2000;
constexpr int kMaxReplies = 16;  // replies that are not our ack before we give up

struct AddrRequest {
  nlmsghdr header;
  ifaddrmsg ifa;
  char attrs[64];
};

void AppendAttr(AddrRequest* req, unsigned short type, const void* data, size_t size) {
  auto* attr = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(req) + NLMSG_ALIGN(req->header.nlmsg_len));
  attr->rta_type = type;
  attr->rta_len = RTA_LENGTH(size);
  std::memcpy(RTA_DATA(attr), data, size);
  req->header.nlmsg_len = NLMSG_ALIGN(req->header.nlmsg_len) + RTA_ALIGN(attr->rta_len);
}

UniqueFd OpenRoute(const std::string& device, const std::string& action) {
  UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.Valid()) throw SysError(errno, "socket", device, action);
  timeval timeout{kAckTimeoutMs / 1000, (kAckTimeoutMs % 1000) * 1000};
  setsockopt(fd.Get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Sends one request and waits for the kernel's ack; a nonzero error in the ack is thrown.
void Transact(AddrRequest* req, const char* request_name, const std::string& device,
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
  AddrRequest req{};
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

}  // namespace

void AddAddress(int ifindex, const IpPrefix& prefix, const std::string& device) {
  ChangeAddress(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, prefix, device, "cannot add address");
}

void RemoveAddress(int ifindex, const IpPrefix& prefix, const std::string& device) {
  ChangeAddress(RTM_DELADDR, 0, ifindex, prefix, device, "cannot remove address");
}

}  // namespace netlink
}  // namespace overlay
