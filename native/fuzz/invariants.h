// What must hold of every parse, checked after each call beside what the sanitizers check:
// the data path's rules restated from their comments (admission.h, wire.h, handshake_screen.h)
// in a second, plain form, and the properties the data path relies on (a length never past the input, a header
// checksum still valid after the hop limit is decremented). A broken invariant ends the run
// with exit code 3 and the input that broke it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../src/datapath/admission.h"
#include "../src/datapath/wire.h"
#include "world.h"

namespace overlay::fuzz {

// The input being parsed, for a failure report from either an invariant or a sanitizer.
struct Current {
  uint64_t seed = 0;
  uint64_t index = 0;
  const char* shape = "";
  const uint8_t* data = nullptr;
  size_t len = 0;
};
extern Current g_current;

// Prints g_current when AddressSanitizer or UBSan ends the process.
void InstallDeathReport();
void ReportUbsan();
[[noreturn]] void Fail(const char* format, ...) __attribute__((format(printf, 1, 2)));

// The one's complement sum over `len` bytes of 16-bit words: 0xffff for a valid IPv4 header.
uint16_t OnesSum(const uint8_t* p, size_t len);

void ExpectKind(const uint8_t* p, size_t n, bool relayed, admission::Kind got);
void ExpectEnvelope(const uint8_t* p, size_t n, bool ok, const wire::EnvelopeHeader& got);
void ExpectTransport(const uint8_t* p, size_t n, bool ok, const wire::TransportHeader& got);
// SealedMac1Ok's answer against HMAC-SHA256 computed another way (EVP_Q_mac).
void ExpectSealedMac1(const uint8_t key[admission::kMac1KeySize], const uint8_t* p, size_t n, bool ok);

// Whether a handshake message of the right size carries a valid mac1 (the world's key) and mac2
// (the cookie its source was last given), worked out here from the whitepaper (§5.4.4).
struct Macs {
  bool mac1, mac2;
};
Macs MacsOk(World& world, const uint8_t* p, size_t n);
// A cookie reply the screen wrote to the handshake `p`: type 3, zero reserved bytes, the
// message's sender index, and XAEAD(cookie key, nonce, τ, AD = its mac1) that opens (§5.4.7).
// Writes τ to `cookie`.
void OpenCookieReply(World& world, const uint8_t* p, size_t n, const uint8_t* reply, uint8_t cookie[kMacSize]);
void ExpectInner(const uint8_t* p, size_t n, bool ok, const wire::InnerPacket& got);
// `before` holds the packet's first `copied` bytes (its whole IP header, or 60 if that is less) as
// they were before DecrementHopLimit.
void ExpectHop(const uint8_t* before, size_t copied, const uint8_t* after, const wire::InnerPacket& inner, bool ok);

}  // namespace overlay::fuzz
