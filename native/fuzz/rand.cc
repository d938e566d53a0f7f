// RAND_bytes as the data path's headers call it (handshake_screen.h: the cookie secret and reply
// nonces; source_limiter.h: its hash seed), made deterministic for the driver: a run is replayed
// input for input from its seed, cookie replies and the mac2s made with them included. The
// linker's --wrap (Makefile) routes the headers' calls here; OpenSSL's own calls are untouched.
#include <cstddef>

#include "rng.h"

namespace overlay::fuzz {

namespace {
Rng g_rand(0);
}  // namespace

void SeedRandBytes(uint64_t seed) { g_rand = Rng(seed ^ 0x5ca1ab1e0ddba11ull); }

}  // namespace overlay::fuzz

extern "C" int __wrap_RAND_bytes(unsigned char* buf, int num) {
  if (num > 0) overlay::fuzz::g_rand.Fill(buf, static_cast<size_t>(num));
  return 1;
}
