// The receive thread's half of the TUN offloads (issue 12 point 1): the in-order TCP segments of
// one flow in a decrypted batch are written to the TUN as one super-packet behind a virtio-net
// header (virtio_net.h) saying how the kernel may split it again, so a batch costs a few writes
// instead of one per packet. Everything else is written as it came, one by one.
//
// Plan() groups the batch; a group is written at the place of its first member, so the order
// within a flow is kept (a packet that cannot join closes its flow's group, and starts the next).
// A packet joins the open group of its flow when:
//   - it is TCP straight behind an IPv4 header without options (not a fragment) or an IPv6 header;
//     its TCP checksum is right (a wrong one is written alone, for the kernel to drop and count);
//   - its flags are ACK, or ACK|PSH (which closes the group), and it has payload;
//   - its IP header matches the first member's but for length, ID and checksum, and its TCP header
//     matches but for sequence number, checksum and PSH: ports, ack, window, options all equal;
//   - its sequence number follows the last member's data, the last member had exactly the first
//     member's payload size (the segment size), it has at most that, and the whole stays within
//     65535 bytes.
// Finish() then makes the group's first member the super-packet's header: IP length (and IPv4
// checksum) for the whole, PSH if the last member had it, and in the TCP checksum field the
// pseudo-header sum for the whole length (the NEEDS_CSUM convention: the kernel finishes it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "checksum.h"
#include "tso.h"
#include "virtio_net.h"

namespace overlay::gro {

constexpr size_t kMaxSuperPacket = 65535;

struct Group {
  uint32_t first;  // packet index of the group's first member
  uint32_t last;   // and of its last
  uint32_t count;  // members; 1 means the packet is written as it came
  uint32_t bytes;  // the super-packet's length: the first's headers and every member's payload
};

constexpr uint32_t kEnd = 0xffffffffu;

// One batch's grouping, in the order the groups are to be written; next[i] is the packet after i
// in its group (kEnd after the last). Both arrays have room for as many entries as the batch has
// packets.
struct Plan {
  Group* groups;
  uint32_t* next;
  size_t group_count = 0;
};

namespace detail {

// The facts of a packet that may join a group, or none (tcp_len == 0).
struct Segment {
  bool v6 = false;
  size_t ip_len = 0;
  size_t tcp_len = 0;
  size_t payload = 0;
  uint32_t seq = 0;
};

inline bool TcpChecksumOk(const uint8_t* p, const Segment& s, size_t len) {
  size_t addr = s.v6 ? 16 : 4;
  const uint8_t* src = p + (s.v6 ? 8 : 12);
  uint64_t sum = checksum::PseudoHeader(src, src + addr, addr, tso::kProtoTcp, len - s.ip_len);
  return checksum::Fold(checksum::Add(p + s.ip_len, len - s.ip_len, sum)) == 0xffff;
}

inline Segment Candidate(const uint8_t* p, size_t len) {
  Segment s;
  size_t ip_len, tcp_len;
  bool v6;
  if (!tso::TcpHeaders(p, len, &v6, &ip_len, &tcp_len)) return s;
  if (!v6 && ip_len != 20) return s;
  uint8_t flags = p[ip_len + 13];
  if ((flags & ~tso::kTcpPsh) != 0x10 || len == ip_len + tcp_len) return s;
  s = {v6, ip_len, tcp_len, len - ip_len - tcp_len, tso::Be32(p + ip_len + 4)};
  if (!TcpChecksumOk(p, s, len)) s.tcp_len = 0;
  return s;
}

// Whether two segments' headers are equal but for what differs between segments of one flow.
inline bool SameFlow(const uint8_t* a, const Segment& sa, const uint8_t* b, const Segment& sb) {
  if (sa.v6 != sb.v6 || sa.tcp_len != sb.tcp_len) return false;
  if (sa.v6) {
    // version, traffic class, flow label; next header, hop limit; both addresses
    if (std::memcmp(a, b, 4) != 0 || std::memcmp(a + 6, b + 6, 34) != 0) return false;
  } else {
    // version/IHL, TOS; flags and fragment offset; TTL, protocol; both addresses
    if (std::memcmp(a, b, 2) != 0 || std::memcmp(a + 6, b + 6, 4) != 0 || std::memcmp(a + 12, b + 12, 8) != 0)
      return false;
  }
  const uint8_t* ta = a + sa.ip_len;
  const uint8_t* tb = b + sb.ip_len;
  // ports; ack; data offset; flags but PSH; window; urgent pointer; options
  return std::memcmp(ta, tb, 4) == 0 && std::memcmp(ta + 8, tb + 8, 5) == 0 &&
         (ta[13] & ~tso::kTcpPsh) == (tb[13] & ~tso::kTcpPsh) && std::memcmp(ta + 14, tb + 14, 2) == 0 &&
         std::memcmp(ta + 18, tb + 18, sa.tcp_len - 18) == 0;
}

}  // namespace detail

// Groups packets[0, n) (lengths in lens) into `plan`; `segments` has room for n entries and keeps
// what Finish needs. Reads only packets[i][0, lens[i]).
inline void PlanBatch(const uint8_t* const* packets, const size_t* lens, size_t n, detail::Segment* segments,
                      Plan* plan) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    segments[i] = detail::Candidate(packets[i], lens[i]);
    plan->next[i] = kEnd;
    const detail::Segment& s = segments[i];
    if (s.tcp_len != 0) {
      // The newest group of the packet's flow decides: it joins it or starts the next. A batch is
      // the data path's batch size, so a linear search costs less than any table would.
      size_t g = count;
      while (g-- > 0) {
        const detail::Segment& f = segments[plan->groups[g].first];
        if (f.tcp_len != 0 && detail::SameFlow(packets[plan->groups[g].first], f, packets[i], s)) break;
      }
      if (g < count) {
        Group& group = plan->groups[g];
        const detail::Segment& f = segments[group.first];
        const detail::Segment& l = segments[group.last];
        bool joins = (packets[group.last][l.ip_len + 13] & tso::kTcpPsh) == 0 && l.payload == f.payload &&
                     s.payload <= f.payload && s.seq == static_cast<uint32_t>(l.seq + l.payload) &&
                     group.bytes + s.payload <= kMaxSuperPacket;
        if (joins) {
          plan->next[group.last] = static_cast<uint32_t>(i);
          group.last = static_cast<uint32_t>(i);
          group.count++;
          group.bytes += static_cast<uint32_t>(s.payload);
          continue;
        }
      }
    }
    plan->groups[count++] = {static_cast<uint32_t>(i), static_cast<uint32_t>(i), 1, static_cast<uint32_t>(lens[i])};
  }
  plan->group_count = count;
}

// Makes a group of two or more the super-packet: rewrites its first member's headers in place
// (the other members' payloads follow it on the wire) and returns the virtio-net header to write
// in front of it.
inline virtio::Header Finish(uint8_t* const* packets, const detail::Segment* segments, const Group& group) {
  uint8_t* p = packets[group.first];
  const detail::Segment& f = segments[group.first];
  const detail::Segment& l = segments[group.last];
  size_t total = group.bytes;
  if (f.v6) {
    tso::PutBe16(p + 4, static_cast<uint16_t>(total - 40));
  } else {
    tso::PutBe16(p + 2, static_cast<uint16_t>(total));
    checksum::SetIpv4HeaderChecksum(p, f.ip_len);
  }
  uint8_t* tcp = p + f.ip_len;
  tcp[13] |= packets[group.last][l.ip_len + 13] & tso::kTcpPsh;
  size_t addr = f.v6 ? 16 : 4;
  const uint8_t* src = p + (f.v6 ? 8 : 12);
  checksum::Store(tcp + 16, checksum::Fold(checksum::PseudoHeader(src, src + addr, addr, tso::kProtoTcp,
                                                                  total - f.ip_len)));
  virtio::Header h;
  h.flags = virtio::kNeedsCsum;
  h.gso_type = f.v6 ? virtio::kGsoTcpV6 : virtio::kGsoTcpV4;
  h.hdr_len = static_cast<uint16_t>(f.ip_len + f.tcp_len);
  h.gso_size = static_cast<uint16_t>(f.payload);
  h.csum_start = static_cast<uint16_t>(f.ip_len);
  h.csum_offset = 16;
  return h;
}

}  // namespace overlay::gro
