#include "ip_prefix.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "errors.h"

namespace overlay {

size_t IpPrefix::AddrSize() const { return family == AF_INET ? 4 : 16; }

static bool ParseDecimal(const std::string& text, int max, int* out) {
  if (text.empty() || text.size() > 3) return false;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value > max) return false;
  *out = value;
  return true;
}

IpPrefix ParseIpPrefix(const std::string& cidr, const std::string& device) {
  auto invalid = [&](const std::string& why) {
    return InvalidArgument(device, "bad address \"" + cidr + "\": " + why);
  };
  if (cidr.find('\0') != std::string::npos) throw invalid("contains a NUL byte");
  size_t slash = cidr.find('/');
  if (slash == std::string::npos) throw invalid("expected ADDRESS/PREFIX, e.g. 100.64.0.1/24");
  std::string addr = cidr.substr(0, slash);
  std::string len = cidr.substr(slash + 1);

  IpPrefix prefix;
  if (inet_pton(AF_INET, addr.c_str(), prefix.addr) == 1) {
    prefix.family = AF_INET;
  } else if (inet_pton(AF_INET6, addr.c_str(), prefix.addr) == 1) {
    prefix.family = AF_INET6;
  } else {
    throw invalid("not an IPv4 or IPv6 address");
  }
  int max = prefix.family == AF_INET ? 32 : 128;
  if (!ParseDecimal(len, max, &prefix.length)) {
    throw invalid("prefix length must be 0.." + std::to_string(max));
  }
  return prefix;
}

}  // namespace overlay
