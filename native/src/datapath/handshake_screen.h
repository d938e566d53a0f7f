// What the receive thread does with a WireGuard handshake message before JavaScript sees it.
//
// JavaScript answers an initiation with two Diffie-Hellmans and is one thread; a flood that
// reaches it delays every handshake, gossip and control request of the node. So the data path
// does the whitepaper's cheap checks itself (§5.3, §5.4.4, §5.4.7), in the order of their cost:
//
//   1. mac1 (initiations and responses): MAC(HASH("mac1----" ‖ our public key), the message up to
//      mac1). Whoever does not know our public key is dropped here, for one BLAKE2s.
//   2. Load: the node is under load while more than `under_load_per_second` mac1-valid handshake
//      messages arrived in a second (this one or the one before). Only then is more asked.
//   3. Under load, mac2 must be MAC(cookie, the message up to mac2), where the cookie is
//      τ = MAC(Rm, source IP ‖ port) and Rm a random secret replaced every two minutes. Without
//      it, the sender gets a cookie reply instead of a Diffie-Hellman — the reply proves nothing
//      about us and costs one BLAKE2s and one XChaCha20-Poly1305, and it is smaller than what it
//      answers (64 bytes for 148 or 92), so the node amplifies nothing toward a spoofed source. The
//      replies are also bounded in number (`cookies_per_second` for all sources together): a
//      spoofed flood beyond that is dropped, counted, and costs no more than a MAC.
//   4. A valid mac2 proves the source address is the sender's, so that address is charged: each
//      has its own budget (source_limiter.h), and one over it is dropped, counted.
//
// Cookie replies (type 3) are not screened here: only a handshake we started can use one, and
// JavaScript finds it by index. Messages that came in a relay envelope are not gated by load
// either: the envelope's MAC already named the member that sent them, so the relay's address,
// their UDP source, proves nothing and would only be charged for everyone it carries.
//
// Receive thread only, except Configure (the JavaScript thread, once, before `configured()`).
#pragma once

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "admission.h"
#include "blake2s_mac.h"
#include "source_limiter.h"
#include "wire.h"
#include "xaead.h"

namespace overlay {

struct HandshakeScreenConfig {
  double under_load_per_second = 64;
  double cookies_per_second = 2048;
  double per_source_per_second = 10;
  double per_source_burst = 20;
};

class HandshakeScreen {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kMacsSize = 2 * kMacSize;  // mac1 ‖ mac2 end every handshake message
  static constexpr int64_t kCookieRefreshMs = 120'000;  // whitepaper §5.4.7: Rm changes every 2 minutes

  enum class Verdict {
    kUp,           // to JavaScript
    kBadMac1,      // dropped: not made with our public key
    kCookie,       // answered with the cookie reply written to `reply`
    kCookieRate,   // dropped: under load, no valid mac2, and the cookie budget is spent
    kSourceRate,   // dropped: valid mac2, but its address is over its budget
  };

  ~HandshakeScreen() {
    OPENSSL_cleanse(mac1_key_, sizeof mac1_key_);
    OPENSSL_cleanse(cookie_key_, sizeof cookie_key_);
    OPENSSL_cleanse(secret_, sizeof secret_);
  }

  // JavaScript thread, once: our mac1 key HASH("mac1----" ‖ Spub) and cookie key
  // HASH("cookie--" ‖ Spub) (whitepaper §5.4.4, §5.4.7). Until then every handshake goes up.
  void Configure(const uint8_t mac1_key[kKeySize], const uint8_t cookie_key[kKeySize],
                 const HandshakeScreenConfig& config) {
    if (configured_.load()) return;
    std::memcpy(mac1_key_, mac1_key, kKeySize);
    std::memcpy(cookie_key_, cookie_key, kKeySize);
    config_ = config;
    configured_.store(true, std::memory_order_release);
  }
  bool configured() const { return configured_.load(std::memory_order_acquire); }

  // An initiation or a response of the right size (admission::Classify), from `from`.
  Verdict Screen(const uint8_t* p, size_t n, const sockaddr_in6& from, bool relayed, int64_t now_ms,
                 uint8_t reply[wire::kCookieReplySize]) {
    const uint8_t* mac1 = p + n - kMacsSize;
    const uint8_t* mac2 = mac1 + kMacSize;
    uint8_t want[kMacSize];
    if (!mac_.Compute(mac1_key_, kKeySize, p, n - kMacsSize, nullptr, 0, want) ||
        CRYPTO_memcmp(want, mac1, kMacSize) != 0)
      return Verdict::kBadMac1;
    if (relayed || !UnderLoad(now_ms)) return Verdict::kUp;
    uint8_t cookie[kMacSize];
    if (!Cookie(from, now_ms, cookie)) return Verdict::kCookieRate;
    bool mac2_ok = mac_.Compute(cookie, kMacSize, p, n - kMacSize, nullptr, 0, want) &&
                   CRYPTO_memcmp(want, mac2, kMacSize) == 0;
    if (mac2_ok) {
      OPENSSL_cleanse(cookie, sizeof cookie);
      return sources_.Allow(from, config_.per_source_per_second, config_.per_source_burst, now_ms)
                 ? Verdict::kUp
                 : Verdict::kSourceRate;
    }
    bool answered = cookies_.Take(config_.cookies_per_second, config_.cookies_per_second, now_ms) &&
                    MakeReply(p, mac1, cookie, reply);
    OPENSSL_cleanse(cookie, sizeof cookie);
    return answered ? Verdict::kCookie : Verdict::kCookieRate;
  }

 private:
  // whitepaper §5.3 leaves "under load" to the implementation: here, a second (this one or the
  // one before) in which more than `under_load_per_second` mac1-valid handshake messages arrived.
  bool UnderLoad(int64_t now_ms) {
    if (now_ms - window_start_ms_ >= 1000) {
      previous_window_ = now_ms - window_start_ms_ < 2000 ? window_count_ : 0;
      window_count_ = 0;
      window_start_ms_ = now_ms;
    }
    window_count_++;
    return window_count_ > config_.under_load_per_second || previous_window_ > config_.under_load_per_second;
  }

  // τ = MAC(Rm, source IP ‖ port); false only if OpenSSL fails us.
  bool Cookie(const sockaddr_in6& from, int64_t now_ms, uint8_t out[kMacSize]) {
    if (!secret_set_ || now_ms - secret_ms_ >= kCookieRefreshMs) {
      if (RAND_bytes(secret_, sizeof secret_) != 1) return false;
      secret_set_ = true;
      secret_ms_ = now_ms;
    }
    uint8_t port[2];
    std::memcpy(port, &from.sin6_port, sizeof port);  // network byte order, as on the wire
    return mac_.Compute(secret_, sizeof secret_, from.sin6_addr.s6_addr, 16, port, sizeof port, out);
  }

  // whitepaper §5.4.7: type 3 ‖ reserved ‖ receiver = the message's sender index ‖ 24-byte nonce ‖
  // XAEAD(cookie key, nonce, τ, AD = the message's mac1): only the real sender can open it.
  bool MakeReply(const uint8_t* p, const uint8_t* mac1, const uint8_t cookie[kMacSize],
                 uint8_t reply[wire::kCookieReplySize]) {
    reply[0] = wire::kCookieReply;
    reply[1] = reply[2] = reply[3] = 0;
    std::memcpy(reply + 4, p + 4, 4);  // both messages carry their sender index at byte 4
    uint8_t* nonce = reply + 8;
    if (RAND_bytes(nonce, kXNonceSize) != 1) return false;
    return xaead_.Seal(cookie_key_, nonce, cookie, kMacSize, mac1, kMacSize, nonce + kXNonceSize);
  }

  std::atomic<bool> configured_{false};
  uint8_t mac1_key_[kKeySize] = {};
  uint8_t cookie_key_[kKeySize] = {};
  HandshakeScreenConfig config_;

  Blake2sMac mac_;
  XAead xaead_;
  SourceLimiter sources_;
  admission::Bucket cookies_;
  uint8_t secret_[32] = {};
  bool secret_set_ = false;
  int64_t secret_ms_ = 0;
  int64_t window_start_ms_ = 0;
  double window_count_ = 0;
  double previous_window_ = 0;
};

}  // namespace overlay
