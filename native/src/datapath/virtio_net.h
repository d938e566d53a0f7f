// The virtio-net header that leads every packet on a TUN opened with IFF_VNET_HDR (tun_device.h):
// what the kernel says about a packet it hands us — a TCP super-packet to split (GSO), a checksum
// left for us to finish — and what we say about one we write (a coalesced super-packet, GRO).
// Layout (virtio spec 1.2 §5.1.6, the legacy 10-byte form; the TUN uses the machine's byte
// order unless TUNSETVNETLE/BE says otherwise, and we never do, so little-endian here):
//
//   [flags: u8][gso_type: u8][hdr_len: u16][gso_size: u16][csum_start: u16][csum_offset: u16]
//
// flags NEEDS_CSUM: the checksum from csum_start to the end is to be computed and stored at
// csum_start + csum_offset (the field holds the pseudo-header sum already). gso_type TCPV4/TCPV6:
// the packet is a TCP super-packet whose payload goes out in gso_size pieces; ECN may be or'ed in.
// The kernel writes these; they are still checked, as every length here is (tcp_offload.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "wire.h"

namespace overlay::virtio {

constexpr size_t kHeaderSize = 10;

constexpr uint8_t kNeedsCsum = 1;
constexpr uint8_t kDataValid = 2;

constexpr uint8_t kGsoNone = 0;
constexpr uint8_t kGsoTcpV4 = 1;
constexpr uint8_t kGsoUdp = 3;
constexpr uint8_t kGsoTcpV6 = 4;
constexpr uint8_t kGsoUdpL4 = 5;
constexpr uint8_t kGsoEcn = 0x80;

struct Header {
  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};

inline void WriteLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

// False when fewer than kHeaderSize bytes were read. Any values parse: what they may be depends on
// the packet behind them (tcp_offload.h).
inline bool Parse(const uint8_t* p, size_t len, Header* out) {
  if (len < kHeaderSize) return false;
  using wire::ReadLe16;
  *out = {p[0], p[1], ReadLe16(p + 2), ReadLe16(p + 4), ReadLe16(p + 6), ReadLe16(p + 8)};
  return true;
}

inline void Write(const Header& h, uint8_t* p) {
  p[0] = h.flags;
  p[1] = h.gso_type;
  WriteLe16(p + 2, h.hdr_len);
  WriteLe16(p + 4, h.gso_size);
  WriteLe16(p + 6, h.csum_start);
  WriteLe16(p + 8, h.csum_offset);
}

}  // namespace overlay::virtio
