// XChaCha20-Poly1305 sealing (whitepaper §5.4: XAEAD), for the cookie replies the receive thread
// sends under load (handshake_screen.h). OpenSSL has ChaCha20-Poly1305 with a 96-bit nonce only;
// the 192-bit-nonce variant (draft-irtf-cfrg-xchacha §2) derives a subkey with HChaCha20 from the
// key and the nonce's first 16 bytes, then seals with ChaCha20-Poly1305 under that subkey and the
// nonce 0^32 ‖ the nonce's last 8 bytes. HChaCha20 is the ChaCha20 block function (RFC 8439
// §2.3) with the nonce's 16 bytes in words 12..15 and no final addition, keeping words 0..3 and
// 12..15.
#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace overlay {

constexpr size_t kXNonceSize = 24;
constexpr size_t kXAeadTagSize = 16;

namespace xaead {

inline uint32_t Rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

inline uint32_t Le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// RFC 8439 §2.1: the quarter round on four words of the state.
inline void QuarterRound(uint32_t* x, int a, int b, int c, int d) {
  x[a] += x[b], x[d] = Rotl(x[d] ^ x[a], 16);
  x[c] += x[d], x[b] = Rotl(x[b] ^ x[c], 12);
  x[a] += x[b], x[d] = Rotl(x[d] ^ x[a], 8);
  x[c] += x[d], x[b] = Rotl(x[b] ^ x[c], 7);
}

inline void HChaCha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]) {
  // "expand 32-byte k", the key, then the nonce where the block counter and nonce would be.
  uint32_t x[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) x[4 + i] = Le32(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = Le32(nonce + 4 * i);
  for (int round = 0; round < 10; round++) {  // 20 rounds: 10 column + diagonal pairs
    QuarterRound(x, 0, 4, 8, 12), QuarterRound(x, 1, 5, 9, 13), QuarterRound(x, 2, 6, 10, 14),
        QuarterRound(x, 3, 7, 11, 15);
    QuarterRound(x, 0, 5, 10, 15), QuarterRound(x, 1, 6, 11, 12), QuarterRound(x, 2, 7, 8, 13),
        QuarterRound(x, 3, 4, 9, 14);
  }
  const int keep[8] = {0, 1, 2, 3, 12, 13, 14, 15};
  for (int i = 0; i < 8; i++) {
    for (int j = 0; j < 4; j++) out[4 * i + j] = static_cast<uint8_t>(x[keep[i]] >> (8 * j));
  }
  OPENSSL_cleanse(x, sizeof x);
}

}  // namespace xaead

class XAead {
 public:
  XAead() : ctx_(EVP_CIPHER_CTX_new()) {
    if (ctx_ != nullptr) ok_ = EVP_CipherInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, 1) == 1;
  }
  ~XAead() { EVP_CIPHER_CTX_free(ctx_); }
  XAead(const XAead&) = delete;
  XAead& operator=(const XAead&) = delete;

  bool ok() const { return ok_; }

  // Encrypts `len` bytes to `out` and appends the 16-byte tag; `ad` is authenticated, not sent.
  bool Seal(const uint8_t key[32], const uint8_t nonce[kXNonceSize], const uint8_t* in, size_t len, const uint8_t* ad,
            size_t ad_len, uint8_t* out) {
    if (!ok_) return false;
    uint8_t subkey[32];
    xaead::HChaCha20(key, nonce, subkey);
    uint8_t iv[12] = {};
    std::memcpy(iv + 4, nonce + 16, 8);
    bool sealed = Run(subkey, iv, in, len, ad, ad_len, out);
    OPENSSL_cleanse(subkey, sizeof subkey);
    return sealed;
  }

 private:
  bool Run(const uint8_t key[32], const uint8_t iv[12], const uint8_t* in, size_t len, const uint8_t* ad,
           size_t ad_len, uint8_t* out) {
    int n = 0;
    if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, key, iv, 1) != 1) return false;
    if (ad_len > 0 && EVP_CipherUpdate(ctx_, nullptr, &n, ad, static_cast<int>(ad_len)) != 1) return false;
    if (len > 0 && EVP_CipherUpdate(ctx_, out, &n, in, static_cast<int>(len)) != 1) return false;
    int fin = 0;
    if (EVP_CipherFinal_ex(ctx_, out + n, &fin) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kXAeadTagSize, out + len) == 1;
  }

  EVP_CIPHER_CTX* ctx_;
  bool ok_ = false;
};

}  // namespace overlay
