// Every buffer the AEAD glue (aead.h) hands to OpenSSL, checked against AddressSanitizer's
// shadow before OpenSSL touches it. OpenSSL is not built with the sanitizer, so a length the
// glue got wrong would read or write past a buffer unseen; here it is reported like any other
// overflow, with the stack that handed the buffer over. build.sh routes the calls through these
// wrappers with the linker's --wrap.
#include <openssl/evp.h>
#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <cstdio>

namespace {

void MustBeAddressable(const void* p, size_t n, const char* what) {
  if (p == nullptr || n == 0) return;
  auto* bad = static_cast<const volatile char*>(__asan_region_is_poisoned(const_cast<void*>(p), n));
  if (bad == nullptr) return;
  std::fprintf(stderr, "fuzz: OpenSSL's %s was handed %zu bytes at %p, but byte %td lies outside the buffer\n",
               what, n, p, bad - static_cast<const volatile char*>(p));
  (void)*bad;  // AddressSanitizer reports this read and ends the run
}

}  // namespace

extern "C" {

int __real_EVP_CipherInit_ex(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, ENGINE* impl, const unsigned char* key,
                             const unsigned char* iv, int enc);
int __real_EVP_CipherUpdate(EVP_CIPHER_CTX* ctx, unsigned char* out, int* outl, const unsigned char* in, int inl);
int __real_EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX* ctx, int type, int arg, void* ptr);

int __wrap_EVP_CipherInit_ex(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, ENGINE* impl, const unsigned char* key,
                             const unsigned char* iv, int enc) {
  MustBeAddressable(key, 32, "EVP_CipherInit_ex key");
  MustBeAddressable(iv, 12, "EVP_CipherInit_ex nonce");
  return __real_EVP_CipherInit_ex(ctx, cipher, impl, key, iv, enc);
}

int __wrap_EVP_CipherUpdate(EVP_CIPHER_CTX* ctx, unsigned char* out, int* outl, const unsigned char* in, int inl) {
  size_t n = inl > 0 ? static_cast<size_t>(inl) : 0;
  MustBeAddressable(in, n, "EVP_CipherUpdate input");
  MustBeAddressable(out, n, "EVP_CipherUpdate output");  // ChaCha20: as long as the input
  return __real_EVP_CipherUpdate(ctx, out, outl, in, inl);
}

int __wrap_EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX* ctx, int type, int arg, void* ptr) {
  if (type == EVP_CTRL_AEAD_SET_TAG || type == EVP_CTRL_AEAD_GET_TAG)
    MustBeAddressable(ptr, arg > 0 ? static_cast<size_t>(arg) : 0, "EVP_CIPHER_CTX_ctrl tag");
  return __real_EVP_CIPHER_CTX_ctrl(ctx, type, arg, ptr);
}

}  // extern "C"
