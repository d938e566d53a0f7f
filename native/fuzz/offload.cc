#include "offload.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "../src/datapath/gro.h"
#include "../src/datapath/tso.h"
#include "../src/datapath/virtio_net.h"
#include "invariants.h"

namespace overlay::fuzz {

namespace {

// A heap buffer of exactly n bytes (at least one, so the pointer is valid).
struct Exact {
  explicit Exact(size_t n) : size(n), bytes(new uint8_t[n ? n : 1]) {}
  Exact(const uint8_t* p, size_t n) : Exact(n) { std::copy(p, p + n, bytes.get()); }
  size_t size;
  std::unique_ptr<uint8_t[]> bytes;
};

// Bends a packet towards a TCP super-packet: protocol TCP, lengths that match, payload grown,
// a data offset in range, so the split's own checks, not the IP parser's, decide.
void ShapeAsTcp(Rng& rng, std::vector<uint8_t>* p) {
  if (p->size() < 60 || rng.OneIn(4)) return;
  std::vector<uint8_t>& b = *p;
  bool v6 = (b[0] >> 4) == 6;
  size_t ip = v6 ? 40 : size_t(b[0] & 0x0f) * 4;
  if (!v6 && ((b[0] >> 4) != 4 || ip < 20)) return;
  if (rng.OneIn(2)) b.resize(std::min<size_t>(65535, b.size() + rng.Below(65536)));
  for (size_t i = 60; i < b.size(); i++) b[i] = static_cast<uint8_t>(i);
  if (v6) {
    b[6] = tso::kProtoTcp;
    tso::PutBe16(&b[4], static_cast<uint16_t>(b.size() - 40));
  } else {
    b[9] = tso::kProtoTcp;
    b[6] &= 0x40;  // DF at most: no fragment
    b[7] = 0;
    tso::PutBe16(&b[2], static_cast<uint16_t>(b.size()));
  }
  if (ip + 20 <= b.size() && !rng.OneIn(8)) b[ip + 12] = static_cast<uint8_t>((5 + rng.Below(11)) << 4);
}

}  // namespace

void FuzzOffloads(Rng& rng, Counts& counts, const uint8_t* data, size_t len, size_t mtu) {
  std::vector<uint8_t> packet(data, data + len);
  ShapeAsTcp(rng, &packet);
  // The header the kernel would write, or something near it, or noise.
  virtio::Header h;
  bool v6 = !packet.empty() && (packet[0] >> 4) == 6;
  size_t ip = v6 ? 40 : packet.empty() ? 0 : size_t(packet[0] & 0x0f) * 4;
  h.flags = rng.OneIn(4) ? rng.Byte() : virtio::kNeedsCsum;
  h.gso_type = rng.OneIn(3) ? virtio::kGsoNone : v6 ? virtio::kGsoTcpV6 : virtio::kGsoTcpV4;
  if (rng.OneIn(8)) h.gso_type = rng.Byte();
  h.gso_size = static_cast<uint16_t>(rng.OneIn(8) ? rng.Next() : 1 + rng.Below(mtu));
  h.csum_start = static_cast<uint16_t>(rng.OneIn(8) ? rng.Next() : ip);
  h.csum_offset = static_cast<uint16_t>(rng.OneIn(8) ? rng.Next() : 16);
  uint8_t raw[virtio::kHeaderSize];
  virtio::Write(h, raw);
  if (rng.OneIn(16)) rng.Fill(raw, sizeof raw);
  size_t header_len = rng.OneIn(32) ? rng.Below(virtio::kHeaderSize) : virtio::kHeaderSize;
  Exact header(raw, header_len);
  counts.offload_reads++;
  if (!virtio::Parse(header.bytes.get(), header.size, &h)) return;

  Exact read(packet.data(), packet.size());
  std::vector<Exact> batch;
  if (h.gso_type == virtio::kGsoNone) {
    if (h.flags & virtio::kNeedsCsum) {
      if (tso::CompleteChecksum(h, read.bytes.get(), read.size)) counts.offload_checksums++;
    }
    batch.emplace_back(read.bytes.get(), read.size);
  } else {
    tso::Plan plan;
    if (!tso::PlanSegments(h, read.bytes.get(), read.size, mtu, &plan)) {
      counts.offload_bad++;
      return;
    }
    counts.offload_split++;
    if (plan.hdr_len + plan.payload != read.size || plan.segments != (plan.payload + plan.mss - 1) / plan.mss)
      Fail("tso::PlanSegments planned %zu segments of %zu for %zu bytes", plan.segments, plan.mss, read.size);
    size_t carried = 0;
    for (size_t k = 0; k < plan.segments; k++) {
      Exact out(plan.hdr_len + plan.mss);
      size_t n = tso::WriteSegment(plan, read.bytes.get(), k, out.bytes.get());
      if (n > mtu || n <= plan.hdr_len) Fail("segment %zu is %zu bytes (MTU %zu)", k, n, mtu);
      carried += n - plan.hdr_len;
      // Most go to the batch whole; some damaged, to reach the refusals.
      if (rng.OneIn(8)) out.bytes[rng.Below(n)] ^= static_cast<uint8_t>(1 + rng.Below(255));
      if (batch.size() < 64) batch.emplace_back(out.bytes.get(), rng.OneIn(16) ? rng.Below(n + 1) : n);
    }
    if (carried != plan.payload) Fail("segments carry %zu payload bytes of %zu", carried, plan.payload);
  }
  // Out of order now and then, and the packet as it came among them.
  if (batch.size() > 1 && rng.OneIn(4)) std::swap(batch[rng.Below(batch.size())], batch[rng.Below(batch.size())]);
  if (batch.size() < 64 && rng.OneIn(2)) batch.emplace_back(data, len);

  size_t n = batch.size();
  std::vector<uint8_t*> ptrs(n);
  std::vector<size_t> lens(n);
  for (size_t i = 0; i < n; i++) {
    ptrs[i] = batch[i].bytes.get();
    lens[i] = batch[i].size;
  }
  std::vector<gro::Group> groups(n);
  std::vector<uint32_t> next(n);
  std::vector<gro::detail::Segment> segments(n);
  gro::Plan plan{groups.data(), next.data()};
  gro::PlanBatch(ptrs.data(), lens.data(), n, segments.data(), &plan);
  counts.gro_batches++;
  std::vector<int> seen(n, 0);
  for (size_t g = 0; g < plan.group_count; g++) {
    const gro::Group& group = groups[g];
    uint32_t count = 0;
    size_t bytes = 0;
    uint32_t previous = 0;
    for (uint32_t i = group.first; i != gro::kEnd; i = next[i]) {
      if (i >= n || seen[i]++ || (count > 0 && i <= previous)) Fail("GRO group %zu lists packet %u wrongly", g, i);
      bytes += count == 0 ? lens[i] : segments[i].payload;
      previous = i;
      count++;
    }
    if (count != group.count || previous != group.last || bytes != group.bytes)
      Fail("GRO group %zu: %u members of %zu bytes, it says %u of %u", g, count, bytes, group.count, group.bytes);
    if (count > 1) {
      counts.gro_coalesced++;
      if (bytes > gro::kMaxSuperPacket) Fail("a %zu-byte super-packet", bytes);
      virtio::Header out = gro::Finish(ptrs.data(), segments.data(), group);
      const uint8_t* p = ptrs[group.first];
      size_t said = segments[group.first].v6 ? 40 + tso::Be16(p + 4) : tso::Be16(p + 2);
      if (said != bytes || out.hdr_len >= bytes) Fail("a super-packet of %zu bytes says %zu", bytes, said);
    }
  }
  for (size_t i = 0; i < n; i++)
    if (!seen[i]) Fail("GRO wrote no group for packet %zu", i);
}

}  // namespace overlay::fuzz
