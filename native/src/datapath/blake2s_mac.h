// WireGuard's MAC (whitepaper §5.4: MAC(key, input) = Keyed-BLAKE2s(key, input, 16)), through the
// OpenSSL that Node links (EVP_MAC "BLAKE2SMAC", OpenSSL 3). The receive thread checks mac1 and
// mac2 with it before a handshake message costs JavaScript anything (handshake_screen.h).
//
// One context per owner, fetched once; each MAC re-keys it, which for BLAKE2s is one block.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstddef>
#include <cstdint>

namespace overlay {

constexpr size_t kMacSize = 16;

class Blake2sMac {
 public:
  Blake2sMac() {
    mac_ = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_BLAKE2SMAC, nullptr);
    if (mac_ != nullptr) ctx_ = EVP_MAC_CTX_new(mac_);
  }
  ~Blake2sMac() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
  }
  Blake2sMac(const Blake2sMac&) = delete;
  Blake2sMac& operator=(const Blake2sMac&) = delete;

  bool ok() const { return ctx_ != nullptr; }

  // MAC(key, a ‖ b): a 16-byte keyed BLAKE2s (key 1..32 bytes) over two pieces, either may be empty.
  bool Compute(const uint8_t* key, size_t key_len, const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len,
               uint8_t out[kMacSize]) {
    if (ctx_ == nullptr) return false;
    size_t size = kMacSize;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx_, key, key_len, params) != 1) return false;
    if (a_len > 0 && EVP_MAC_update(ctx_, a, a_len) != 1) return false;
    if (b_len > 0 && EVP_MAC_update(ctx_, b, b_len) != 1) return false;
    size_t written = 0;
    return EVP_MAC_final(ctx_, out, &written, kMacSize) == 1 && written == kMacSize;
  }

 private:
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace overlay
