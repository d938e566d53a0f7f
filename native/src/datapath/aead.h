// ChaCha20-Poly1305 (RFC 8439) for transport messages, through the OpenSSL that Node itself links
// (its vectorised assembly is what makes userspace WireGuard fast). One context per thread, made
// once; each packet only re-keys it, which for ChaCha20 is a copy, not a schedule.
//
// whitepaper §5.4.6: the nonce is 32 zero bits followed by the 64-bit little-endian counter; the
// transport AEAD has empty associated data.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire.h"

namespace overlay {

constexpr size_t kAeadTagSize = 16;
constexpr size_t kKeySize = 32;

class TransportAead {
 public:
  TransportAead() : ctx_(EVP_CIPHER_CTX_new()) {
    if (ctx_ != nullptr) {
      ok_ = EVP_CipherInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, 1) == 1;
    }
  }
  ~TransportAead() { EVP_CIPHER_CTX_free(ctx_); }
  TransportAead(const TransportAead&) = delete;
  TransportAead& operator=(const TransportAead&) = delete;

  bool ok() const { return ok_; }

  // Encrypts `len` bytes from `in` to `out` (may be the same buffer) and appends the 16-byte tag.
  bool Seal(const uint8_t key[kKeySize], uint64_t counter, const uint8_t* in, size_t len, uint8_t* out) {
    uint8_t nonce[12];
    MakeNonce(counter, nonce);
    int n = 0;
    if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, key, nonce, 1) != 1) return false;
    if (len > 0 && EVP_CipherUpdate(ctx_, out, &n, in, static_cast<int>(len)) != 1) return false;
    int fin = 0;
    if (EVP_CipherFinal_ex(ctx_, out + n, &fin) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, out + len) == 1;
  }

  // Decrypts `len` bytes of ciphertext followed by its tag; false if the tag does not verify.
  bool Open(const uint8_t key[kKeySize], uint64_t counter, const uint8_t* in, size_t len, uint8_t* out) {
    uint8_t nonce[12];
    MakeNonce(counter, nonce);
    uint8_t tag[kAeadTagSize];
    std::memcpy(tag, in + len, kAeadTagSize);  // `out` may overlap `in`
    int n = 0;
    if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, key, nonce, 0) != 1) return false;
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, tag) != 1) return false;
    if (len > 0 && EVP_CipherUpdate(ctx_, out, &n, in, static_cast<int>(len)) != 1) return false;
    int fin = 0;
    return EVP_CipherFinal_ex(ctx_, out + n, &fin) == 1;
  }

  // Relay envelopes (wire.h): a tag over two pieces of associated data and an empty plaintext,
  // so the inner datagram is authenticated where it lies, without a copy.
  // `direction` fills the nonce's first 32 bits (zero for transport), so the two members of a
  // pair, sharing one key and each counting from 0, never use the same nonce.
  bool Mac(const uint8_t key[kKeySize], uint32_t direction, uint64_t counter, const uint8_t* a, size_t a_len, const uint8_t* b,
           size_t b_len, uint8_t tag[kAeadTagSize]) {
    if (!Begin(key, direction, counter, 1, a, a_len, b, b_len)) return false;
    int fin = 0;
    uint8_t none[1];
    if (EVP_CipherFinal_ex(ctx_, none, &fin) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, tag) == 1;
  }

  bool VerifyMac(const uint8_t key[kKeySize], uint32_t direction, uint64_t counter, const uint8_t* a, size_t a_len, const uint8_t* b,
                 size_t b_len, const uint8_t tag[kAeadTagSize]) {
    uint8_t copy[kAeadTagSize];
    std::memcpy(copy, tag, kAeadTagSize);
    if (!Begin(key, direction, counter, 0, a, a_len, b, b_len)) return false;
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, copy) != 1) return false;
    int fin = 0;
    uint8_t none[1];
    return EVP_CipherFinal_ex(ctx_, none, &fin) == 1;
  }

 private:
  bool Begin(const uint8_t key[kKeySize], uint32_t direction, uint64_t counter, int encrypt, const uint8_t* a, size_t a_len,
             const uint8_t* b, size_t b_len) {
    uint8_t nonce[12];
    MakeNonce(counter, nonce);
    for (int i = 0; i < 4; i++) nonce[i] = static_cast<uint8_t>(direction >> (8 * i));
    int n = 0;
    if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, key, nonce, encrypt) != 1) return false;
    // Associated data goes in with a null output buffer; Poly1305 pads it once, at the end.
    if (a_len > 0 && EVP_CipherUpdate(ctx_, nullptr, &n, a, static_cast<int>(a_len)) != 1) return false;
    if (b_len > 0 && EVP_CipherUpdate(ctx_, nullptr, &n, b, static_cast<int>(b_len)) != 1) return false;
    return true;
  }

  static void MakeNonce(uint64_t counter, uint8_t nonce[12]) {
    std::memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
  }

  EVP_CIPHER_CTX* ctx_;
  bool ok_ = false;
};

// Seals one transport message in place: `slot` holds `len` bytes of plaintext at offset
// kTransportHeader; they are padded (whitepaper §5.4.6: to 16, but not past the MTU), encrypted,
// tagged, and the header written in front. Writes kTransportHeader + padded + kTag bytes from
// `slot`, so the caller leaves kPadding + kTag bytes of room after the plaintext. Returns the
// datagram length, 0 on a crypto failure.
inline size_t SealTransport(TransportAead& aead, const uint8_t key[kKeySize], uint32_t receiver, uint64_t counter,
                            uint8_t* slot, size_t len, size_t mtu) {
  uint8_t* body = slot + wire::kTransportHeader;
  size_t padded = wire::PaddedLength(len, mtu);
  std::memset(body + len, 0, padded - len);
  wire::WriteTransportHeader(slot, receiver, counter);
  if (!aead.Seal(key, counter, body, padded, body)) return 0;
  return wire::kTransportHeader + padded + wire::kTag;
}

}  // namespace overlay
