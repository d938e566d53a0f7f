// The send thread's half of the TUN offloads (issue 12 point 1): with TSO on, one read from the
// TUN returns a TCP super-packet of up to 64 KB (virtio_net.h says so), which is split here into
// segments that each fit the MTU — what the kernel's own tcp_gso_segment would have sent — and a
// packet whose checksum the kernel left to us (CSUM offload) gets it. Pure functions over
// untrusted (bytes, length): everything is checked before use, and native/fuzz runs them.
//
// A segment k of a plan carries payload bytes [k * mss, min((k + 1) * mss, payload)) behind a copy
// of the super-packet's IP and TCP headers, in which:
//   IPv4: total length is the segment's, the ID is the super-packet's + k (mod 2^16), the header
//         checksum is recomputed;  IPv6: payload length is the segment's;
//   TCP:  sequence number + k * mss (mod 2^32); FIN and PSH only on the last segment, CWR only on
//         the first (RFC 3168 §6.1.2: CWR once per window reduction); the checksum is complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "checksum.h"
#include "virtio_net.h"

namespace overlay::tso {

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;

// What a super-packet splits into.
struct Plan {
  bool v6;
  size_t ip_len;   // IP header bytes (IPv4 with options; IPv6: 40, no extension headers)
  size_t hdr_len;  // IP + TCP header bytes, copied in front of every segment
  size_t mss;      // payload bytes per segment (the last may have fewer)
  size_t payload;  // payload bytes in all
  size_t segments;
};

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// The IP and TCP header lengths of a TCP packet that is exactly `len` bytes long by its IP header,
// not a fragment, TCP directly behind the IP header. False for anything else.
inline bool TcpHeaders(const uint8_t* p, size_t len, bool* v6, size_t* ip_len, size_t* tcp_len) {
  if (len < 1) return false;
  int version = p[0] >> 4;
  if (version == 4) {
    if (len < 20) return false;
    size_t ihl = size_t(p[0] & 0x0f) * 4;
    if (ihl < 20 || Be16(p + 2) != len || p[9] != kProtoTcp) return false;
    if ((Be16(p + 6) & 0x3fff) != 0) return false;  // MF or a fragment offset
    *v6 = false;
    *ip_len = ihl;
  } else if (version == 6) {
    if (len < 40 || size_t(Be16(p + 4)) + 40 != len || p[6] != kProtoTcp) return false;
    *v6 = true;
    *ip_len = 40;
  } else {
    return false;
  }
  if (len < *ip_len + 20) return false;
  *tcp_len = size_t(p[*ip_len + 12] >> 4) * 4;
  return *tcp_len >= 20 && *ip_len + *tcp_len <= len;
}

// Plans the split of a super-packet read with header `h` into segments of at most `mtu` bytes.
// False (the caller counts it) unless h is TCPV4 or TCPV6 matching an exact-length TCP packet of
// that version whose checksum starts at its TCP header, with payload, and an mss that fits the MTU.
inline bool PlanSegments(const virtio::Header& h, const uint8_t* p, size_t len, size_t mtu, Plan* out) {
  uint8_t type = h.gso_type & ~virtio::kGsoEcn;
  if (type != virtio::kGsoTcpV4 && type != virtio::kGsoTcpV6) return false;
  bool v6;
  size_t ip_len, tcp_len;
  if (!TcpHeaders(p, len, &v6, &ip_len, &tcp_len) || v6 != (type == virtio::kGsoTcpV6)) return false;
  if (h.csum_start != ip_len) return false;
  size_t hdr = ip_len + tcp_len;
  size_t mss = h.gso_size;
  if (mss == 0 || hdr + mss > mtu || len <= hdr) return false;
  size_t payload = len - hdr;
  *out = {v6, ip_len, hdr, mss, payload, (payload + mss - 1) / mss};
  return true;
}

// Writes segment k (< plan.segments) of super-packet `p` to `out`, which has room for hdr_len + mss
// bytes; returns its length.
inline size_t WriteSegment(const Plan& plan, const uint8_t* p, size_t k, uint8_t* out) {
  size_t offset = k * plan.mss;
  size_t take = plan.payload - offset < plan.mss ? plan.payload - offset : plan.mss;
  size_t len = plan.hdr_len + take;
  std::memcpy(out, p, plan.hdr_len);
  std::memcpy(out + plan.hdr_len, p + plan.hdr_len + offset, take);
  if (plan.v6) {
    PutBe16(out + 4, static_cast<uint16_t>(len - 40));
  } else {
    PutBe16(out + 2, static_cast<uint16_t>(len));
    PutBe16(out + 4, static_cast<uint16_t>(Be16(p + 4) + k));
    checksum::SetIpv4HeaderChecksum(out, plan.ip_len);
  }
  uint8_t* tcp = out + plan.ip_len;
  PutBe32(tcp + 4, static_cast<uint32_t>(Be32(p + plan.ip_len + 4) + offset));
  if (k + 1 < plan.segments) tcp[13] &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
  if (k > 0) tcp[13] &= static_cast<uint8_t>(~kTcpCwr);
  tcp[16] = tcp[17] = 0;
  size_t addr = plan.v6 ? 16 : 4;
  const uint8_t* src = out + (plan.v6 ? 8 : 12);
  uint64_t sum = checksum::PseudoHeader(src, src + addr, addr, kProtoTcp, len - plan.ip_len);
  checksum::Store(tcp + 16, static_cast<uint16_t>(~checksum::Fold(checksum::Add(tcp, len - plan.ip_len, sum))));
  return len;
}

// A packet without GSO whose header asks for NEEDS_CSUM: sums [csum_start, len) with the
// pseudo-header sum the field already holds and stores the result, as the kernel's
// skb_checksum_help would (a zero result goes out as 0xffff, its equal in one's complement).
// False when the offsets do not fit the packet.
inline bool CompleteChecksum(const virtio::Header& h, uint8_t* p, size_t len) {
  size_t start = h.csum_start;
  size_t field = start + size_t(h.csum_offset);
  if (start >= len || field + 2 > len) return false;
  uint16_t folded = static_cast<uint16_t>(~checksum::Fold(checksum::Add(p + start, len - start, 0)));
  checksum::Store(p + field, folded == 0 ? 0xffff : folded);
  return true;
}

}  // namespace overlay::tso
