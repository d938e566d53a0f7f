// What must hold of every parse, checked after each call beside what the sanitizers check:
// the data path's rules restated from their comments (classify.h, wire.h) in a second, plain
// form, and the properties the data path relies on (a length never past the input, a header
// checksum still valid after the hop limit is decremented). A broken invariant ends the run
// with exit code 3 and the input that broke it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../src/datapath/classify.h"
#include "../src/datapath/wire.h"

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

void ExpectKind(const uint8_t* p, size_t n, bool relayed, wire::Kind got);
void ExpectEnvelope(const uint8_t* p, size_t n, bool ok, const wire::EnvelopeHeader& got);
void ExpectTransport(const uint8_t* p, size_t n, wire::Kind kind, bool ok, const wire::TransportHeader& got);
void ExpectInner(const uint8_t* p, size_t n, bool ok, const wire::InnerPacket& got);
// `before` holds the packet's first `copied` bytes (its whole IP header, or 60 if that is less) as
// they were before DecrementHopLimit.
void ExpectHop(const uint8_t* before, size_t copied, const uint8_t* after, const wire::InnerPacket& inner, bool ok);

}  // namespace overlay::fuzz
