// The Internet checksum (RFC 1071) for the TUN offloads (tcp_offload.h): the one's complement sum
// of 16-bit words. It is summed here in the machine's own byte order, 32 bits at a time into a
// 64-bit accumulator; RFC 1071 §2(B) shows the folded sum is then the network-order sum in the
// machine's order, so it is stored back with a plain memcpy and no swap. Pure functions over
// (bytes, length) that read only p[0, len).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace overlay::checksum {

// Adds p[0, len) to `sum`. An odd last byte is the high byte of a zero-padded word.
inline uint64_t Add(const uint8_t* p, size_t len, uint64_t sum) {
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    sum += (w & 0xffffffffu) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len == 1) {
    uint8_t last[2] = {p[0], 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    sum += w;
  }
  return sum;
}

// A 16-bit value in network order (a length, a protocol number), as Add would have summed it.
inline uint64_t AddWord(uint16_t host_value, uint64_t sum) {
  uint8_t be[2] = {static_cast<uint8_t>(host_value >> 8), static_cast<uint8_t>(host_value)};
  uint16_t w;
  std::memcpy(&w, be, 2);
  return sum + w;
}

inline uint16_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Stores a folded sum (or its complement) at p in network order.
inline void Store(uint8_t* p, uint16_t folded) { std::memcpy(p, &folded, 2); }

// The TCP/UDP pseudo-header (RFC 793 §3.1, RFC 8200 §8.1): both addresses (4 or 16 bytes each),
// the protocol and the transport length.
inline uint64_t PseudoHeader(const uint8_t* src, const uint8_t* dst, size_t addr_bytes, uint8_t protocol,
                             size_t transport_len) {
  uint64_t sum = Add(src, addr_bytes, 0);
  sum = Add(dst, addr_bytes, sum);
  sum = AddWord(protocol, sum);
  // An IPv6 jumbo length would need 32 bits; the offloads never make one (at most 65535 bytes).
  return AddWord(static_cast<uint16_t>(transport_len), sum);
}

// Rewrites an IPv4 header's checksum (bytes 10..11) over its `ihl_bytes`.
inline void SetIpv4HeaderChecksum(uint8_t* ip, size_t ihl_bytes) {
  ip[10] = ip[11] = 0;
  Store(ip + 10, static_cast<uint16_t>(~Fold(Add(ip, ihl_bytes, 0))));
}

}  // namespace overlay::checksum
