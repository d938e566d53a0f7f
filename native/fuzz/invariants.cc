#include "invariants.h"

#include <sanitizer/common_interface_defs.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

namespace overlay::fuzz {

Current g_current;

namespace {

void ReportInput() {
  const Current& c = g_current;
  std::fprintf(stderr, "fuzz: at input #%llu of seed %llu (%s, %zu bytes):\n",
               static_cast<unsigned long long>(c.index), static_cast<unsigned long long>(c.seed), c.shape, c.len);
  size_t shown = c.len < 512 ? c.len : 512;
  for (size_t i = 0; i < shown; i++) std::fprintf(stderr, "%02x%s", c.data[i], i % 32 == 31 ? "\n" : "");
  std::fprintf(stderr, "%s\nfuzz: replay it with --seed %llu --inputs %llu\n", c.len > shown ? " ..." : "",
               static_cast<unsigned long long>(c.seed), static_cast<unsigned long long>(c.index + 1));
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// classify.h's rules, in the order its comment lists them and written out plainly.
wire::Kind SpecKind(const uint8_t* p, size_t n, bool relayed) {
  using wire::Kind;
  if (n == 0) return Kind::kJunk;
  uint8_t type = p[0];
  if (type == 0x84) return Kind::kEnvelope;
  bool reserved_zero = n >= 4 && p[1] == 0 && p[2] == 0 && p[3] == 0;
  if (type == 4 && reserved_zero && n >= 16 + 16) return Kind::kTransport;
  if (!relayed && n >= 20 && (type >> 6) == 0 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xa4 && p[7] == 0x42 &&
      Be16(p + 2) % 4 == 0 && n == 20u + Be16(p + 2)) {
    return Kind::kStun;
  }
  static const struct {
    uint8_t type;
    size_t size;
    Kind kind;
  } kHandshakes[] = {{1, 148, Kind::kInitiation}, {2, 92, Kind::kResponse}, {3, 64, Kind::kCookieReply}};
  for (const auto& h : kHandshakes) {
    if (type == h.type) return reserved_zero && n == h.size ? h.kind : Kind::kJunk;
  }
  return n >= 4 && type >= 0x80 ? Kind::kOverlay : Kind::kJunk;
}

}  // namespace

void ReportUbsan() { ReportInput(); }

void InstallDeathReport() { __sanitizer_set_death_callback(ReportInput); }

}  // namespace overlay::fuzz

// UBSan, a library of its own beside AddressSanitizer's with its own copy of the death callback,
// calls this hook after each report instead (build.sh exports it to the library).
extern "C" void __ubsan_on_report() { overlay::fuzz::ReportUbsan(); }

namespace overlay::fuzz {

void Fail(const char* format, ...) {
  std::fprintf(stderr, "fuzz: invariant broken: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  ReportInput();
  std::fflush(stderr);
  _exit(3);
}

uint16_t OnesSum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += Be16(p + i);
  if (len % 2) sum += uint32_t(p[len - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

void ExpectKind(const uint8_t* p, size_t n, bool relayed, wire::Kind got) {
  wire::Kind want = SpecKind(p, n, relayed);
  if (got != want) Fail("Classify said kind %d, the rules say %d (relayed %d)", int(got), int(want), int(relayed));
}

void ExpectEnvelope(const uint8_t* p, size_t n, bool ok, const wire::EnvelopeHeader& got) {
  bool want = n > 44 && p[0] == 0x84 && p[1] <= 1 && p[2] == 0 && p[3] == 0;
  if (ok != want) Fail("ParseEnvelope returned %d, the layout says %d", int(ok), int(want));
  if (!ok) return;
  if (got.inner + 44 != n) Fail("ParseEnvelope: inner length %zu of a %zu-byte envelope", got.inner, n);
  if (got.flags != p[1] || got.mac_tag != wire::ReadLe64(p + 4) || got.other_tag != wire::ReadLe64(p + 12) ||
      got.counter != wire::ReadLe64(p + 20)) {
    Fail("ParseEnvelope: header fields differ from the bytes");
  }
}

void ExpectTransport(const uint8_t* p, size_t n, wire::Kind kind, bool ok, const wire::TransportHeader& got) {
  if (ok != (kind == wire::Kind::kTransport)) Fail("ParseTransport returned %d for kind %d", int(ok), int(kind));
  if (!ok) return;
  if (got.body + 32 != n) Fail("ParseTransport: body %zu of a %zu-byte datagram", got.body, n);
  if (got.receiver != wire::ReadLe32(p + 4) || got.counter != wire::ReadLe64(p + 8))
    Fail("ParseTransport: header fields differ from the bytes");
}

void ExpectInner(const uint8_t* p, size_t n, bool ok, const wire::InnerPacket& got) {
  // The property the data path relies on first: nothing it reads or writes lies past the input.
  if (ok && (got.length > n || got.src < p || got.dst < p || got.src + got.addr_bytes > p + got.length ||
             got.dst + got.addr_bytes > p + got.length)) {
    Fail("ParseInner: length %zu or an address lies past the %zu bytes it was given", got.length, n);
  }
  int version = n >= 1 ? p[0] >> 4 : 0;
  bool want = false;
  size_t length = 0;
  if (version == 4 && n >= 20 && (p[0] & 0x0f) >= 5) {
    length = Be16(p + 2);
    want = length >= 20 && length <= n;
  } else if (version == 6 && n >= 40) {
    length = 40u + Be16(p + 4);
    want = length <= n;
  }
  if (ok != want) Fail("ParseInner returned %d, the IPv%d header says %d", int(ok), version, int(want));
  if (!ok) return;
  int bytes = version == 4 ? 4 : 16;
  const uint8_t* src = p + (version == 4 ? 12 : 8);
  if (got.length != length || got.addr_bytes != bytes || got.src != src || got.dst != src + bytes)
    Fail("ParseInner: fields differ from the IPv%d header", version);
}

void ExpectHop(const uint8_t* before, size_t copied, const uint8_t* after, const wire::InnerPacket& inner, bool ok) {
  size_t at = inner.addr_bytes == 16 ? 7 : 8;
  bool want = before[at] > 1;
  if (ok != want) Fail("DecrementHopLimit returned %d for a hop limit of %d", int(ok), before[at]);
  size_t header = inner.addr_bytes == 16 ? 40 : 20;
  for (size_t i = 0; i < header; i++) {
    bool may_change = ok && (i == at || (inner.addr_bytes == 4 && (i == 10 || i == 11)));
    if (!may_change && before[i] != after[i]) Fail("DecrementHopLimit changed header byte %zu", i);
  }
  if (!ok) return;
  if (after[at] != before[at] - 1) Fail("DecrementHopLimit: %d became %d", before[at], after[at]);
  // RFC 1624: the incremental update keeps a valid IPv4 header checksum valid.
  size_t ihl = size_t(before[0] & 0x0f) * 4;
  if (inner.addr_bytes == 4 && ihl <= copied && OnesSum(before, ihl) == 0xffff && OnesSum(after, ihl) != 0xffff)
    Fail("DecrementHopLimit broke a valid IPv4 header checksum");
}

}  // namespace overlay::fuzz
