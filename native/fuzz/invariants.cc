#include "invariants.h"

#include <openssl/evp.h>
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "../src/datapath/xaead.h"

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

// admission.h's rules for what is not a transport message or an envelope, written out plainly.
admission::Kind SpecKind(const uint8_t* p, size_t n, bool relayed) {
  using admission::Kind;
  if (!relayed && n >= 20 && (p[0] >> 6) == 0 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xa4 && p[7] == 0x42 &&
      Be16(p + 2) % 4 == 0 && n == 20u + Be16(p + 2)) {
    return Kind::kStun;
  }
  if (n < 4) return Kind::kJunk;
  uint8_t type = p[0];
  bool reserved_zero = p[1] == 0 && p[2] == 0 && p[3] == 0;
  static const struct {
    uint8_t type;
    size_t size;
  } kHandshakes[] = {{1, 148}, {2, 92}, {3, 64}};
  for (const auto& h : kHandshakes) {
    if (type == h.type) return reserved_zero && n == h.size ? Kind::kHandshake : Kind::kJunk;
  }
  // Sealed: type, sender key (32), nonce (24), box tag and inner header (16 + 18), mac1 (16).
  if (type == 0x80) return n >= 107 && n <= 1280 ? Kind::kSealed : Kind::kJunk;
  if (type == 0x81) return relayed ? Kind::kJunk : Kind::kJoinQuery;
  return Kind::kJunk;
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

void ExpectKind(const uint8_t* p, size_t n, bool relayed, admission::Kind got) {
  admission::Kind want = SpecKind(p, n, relayed);
  if (got != want) Fail("Classify said kind %d, the rules say %d (relayed %d)", int(got), int(want), int(relayed));
}

void ExpectEnvelope(const uint8_t* p, size_t n, bool ok, const wire::EnvelopeHeader& got) {
  bool want = n > 44 && p[0] == 0x84 && p[1] <= 1;  // any key id
  if (ok != want) Fail("ParseEnvelope returned %d, the layout says %d", int(ok), int(want));
  if (!ok) return;
  if (got.inner + 44 != n) Fail("ParseEnvelope: inner length %zu of a %zu-byte envelope", got.inner, n);
  if (got.flags != p[1] || got.key_id != (p[2] | p[3] << 8) || got.mac_tag != wire::ReadLe64(p + 4) ||
      got.other_tag != wire::ReadLe64(p + 12) || got.counter != wire::ReadLe64(p + 20)) {
    Fail("ParseEnvelope: header fields differ from the bytes");
  }
}

void ExpectTransport(const uint8_t* p, size_t n, bool ok, const wire::TransportHeader& got) {
  bool want = n >= 32 && p[0] == 4 && p[1] == 0 && p[2] == 0 && p[3] == 0;
  if (ok != want) Fail("ParseTransport returned %d, the layout says %d", int(ok), int(want));
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

void ExpectSealedMac1(const uint8_t key[admission::kMac1KeySize], const uint8_t* p, size_t n, bool ok) {
  uint8_t mac[32];
  size_t mac_len = 0;
  bool want = n >= 16 && EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key, admission::kMac1KeySize, p, n - 16,
                                   mac, sizeof mac, &mac_len) != nullptr &&
              mac_len == 32 && std::memcmp(mac, p + n - 16, 16) == 0;
  if (ok != want) Fail("SealedMac1Ok said %d, HMAC-SHA256 over the message says %d", int(ok), int(want));
}

Macs MacsOk(World& world, const uint8_t* p, size_t n) {
  static Blake2sMac mac;
  uint8_t want[kMacSize];
  Macs m{false, false};
  if (n < 32) return m;
  m.mac1 = mac.Compute(world.mac1_key, sizeof world.mac1_key, p, n - 32, nullptr, 0, want) &&
           std::memcmp(want, p + n - 32, kMacSize) == 0;
  m.mac2 = world.has_cookie[world.from] &&
           mac.Compute(world.cookies[world.from].data(), kMacSize, p, n - 16, nullptr, 0, want) &&
           std::memcmp(want, p + n - 16, kMacSize) == 0;
  return m;
}

void OpenCookieReply(World& world, const uint8_t* p, size_t n, const uint8_t* reply, uint8_t cookie[kMacSize]) {
  if (reply[0] != 3 || reply[1] != 0 || reply[2] != 0 || reply[3] != 0 || std::memcmp(reply + 4, p + 4, 4) != 0)
    Fail("a cookie reply's header is not type 3 to the message's sender index");
  const uint8_t* nonce = reply + 8;
  const uint8_t* sealed = nonce + kXNonceSize;
  uint8_t subkey[32];
  xaead::HChaCha20(world.cookie_key, nonce, subkey);
  uint8_t iv[12] = {};
  std::memcpy(iv + 4, nonce + 16, 8);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool opened = ctx != nullptr && EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, subkey, iv) == 1 &&
                EVP_DecryptUpdate(ctx, nullptr, &len, p + n - 32, kMacSize) == 1 &&
                EVP_DecryptUpdate(ctx, cookie, &len, sealed, kMacSize) == 1 &&
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<uint8_t*>(sealed + kMacSize)) == 1 &&
                EVP_DecryptFinal_ex(ctx, cookie + len, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!opened) Fail("a cookie reply does not open with our cookie key and the message's mac1");
}

}  // namespace overlay::fuzz
