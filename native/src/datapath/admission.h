// What the receive thread lets up to JavaScript, and how much of it (engine_receive.cc).
//
// JavaScript answers WireGuard handshakes and overlay's own messages, and it is one thread: a
// flood that reaches it delays gossip, discovery and handshakes alike. So everything that goes up
// is sorted into two queues with their own bounds — WireGuard's handshake messages (and the data
// path's own events), and overlay's messages — and overlay's messages are screened first:
//
//   1. Only the types a node ever takes: sealed (0x80) and join queries (0x81). Anything else at
//      or above 0x80 (the relay envelope excepted, relay.cc) is junk.
//   2. A sealed message must carry a valid mac1 (core/overlayWire/sealed.ts): HMAC-SHA256 keyed by
//      a hash of our public key. Whoever does not know our key is dropped for a microsecond.
//   3. Each member has its own budget for sealed messages, found by the sender key in the header
//      (or the member an envelope came from), split in two: messages from its known endpoint or
//      through a relay, and those from anywhere else (the key in the header is only a claim until
//      JavaScript opens the box). Everyone else — unknown keys, join queries, STUN answers —
//      shares one small budget. A member over its budget costs only itself; a stranger can only
//      ever use up the strangers' share, or a member's second bucket by spoofing its key, never
//      the bucket a member's real messages use and never the handshakes' queue.
//
// Pure functions and plain structs: the receive thread owns the buckets, and the fuzz harness can
// drive the classification without a socket.
#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "wire.h"

namespace overlay {

namespace admission {

constexpr uint8_t kSealed = 0x80;
constexpr uint8_t kJoinQuery = 0x81;
constexpr size_t kMac1Size = 16;
constexpr size_t kMac1KeySize = 32;
// [type][sender key 32][nonce 24][box tag 16 + inner header 18][mac1 16]: nothing shorter is sealed.
constexpr size_t kSealedMin = 1 + 32 + 24 + 16 + 18 + kMac1Size;
constexpr size_t kSealedMax = 1280;
constexpr size_t kSenderKeyAt = 1;
constexpr size_t kKeySize = 32;

enum class Kind {
  kHandshake,  // WireGuard initiation, response, cookie reply
  kSealed,     // overlay's sealed message
  kJoinQuery,  // overlay's clear join query
  kStun,       // a STUN answer (never through a relay)
  kJunk,
};

// What a control datagram is (the caller has already taken transport messages and envelopes).
inline Kind Classify(const uint8_t* p, size_t len, bool relayed) {
  if (!relayed && wire::IsStunMessage(p, len)) return Kind::kStun;
  if (len < 4) return Kind::kJunk;
  // WireGuard's handshake messages have exact sizes and zero reserved bytes (whitepaper §5.4).
  bool reserved_zero = p[1] == 0 && p[2] == 0 && p[3] == 0;
  switch (p[0]) {
    case wire::kInitiation:
      return reserved_zero && len == wire::kInitiationSize ? Kind::kHandshake : Kind::kJunk;
    case wire::kResponse:
      return reserved_zero && len == wire::kResponseSize ? Kind::kHandshake : Kind::kJunk;
    case wire::kCookieReply:
      return reserved_zero && len == wire::kCookieReplySize ? Kind::kHandshake : Kind::kJunk;
    case kSealed:
      return len >= kSealedMin && len <= kSealedMax ? Kind::kSealed : Kind::kJunk;
    case kJoinQuery:
      // A join query through a relay would make the relay's address a would-be joiner.
      return relayed ? Kind::kJunk : Kind::kJoinQuery;
    default:
      return Kind::kJunk;
  }
}

// mac1 of a sealed message: the last 16 bytes, HMAC-SHA256(key, everything before them).
inline bool SealedMac1Ok(const uint8_t key[kMac1KeySize], const uint8_t* p, size_t len) {
  if (len < kMac1Size) return false;
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key, kMac1KeySize, p, len - kMac1Size, mac, &mac_len) == nullptr || mac_len < kMac1Size)
    return false;
  return CRYPTO_memcmp(mac, p + len - kMac1Size, kMac1Size) == 0;
}

// A token bucket: `rate` per second up to `burst`. Owned by one thread.
struct Bucket {
  double tokens = -1;  // < 0: not started, fills to `burst` on first use
  int64_t at_ms = 0;

  bool Take(double rate, double burst, int64_t now_ms) {
    if (tokens < 0) {
      tokens = burst;
    } else if (now_ms > at_ms) {
      tokens = std::min(burst, tokens + double(now_ms - at_ms) * rate / 1000.0);
    }
    at_ms = now_ms;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

}  // namespace admission
}  // namespace overlay
