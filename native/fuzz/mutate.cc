// The mutator (generate.h): small, blind changes to bytes that were valid, so each parser also
// meets the near misses a structured generator would not think of.
#include <algorithm>
#include <cstring>

#include "generate.h"

namespace overlay::fuzz {

namespace {

// Datagrams never exceed what UDP carries; a bit more, to cross that line too.
constexpr size_t kMaxLength = 65535 + 64;

const size_t kCuts[] = {0, 1, 3, 4, 7, 8, 16, 19, 20, 31, 32, 39, 40, 43, 44, 45, 47, 48, 60, 63, 64, 92, 148};
const uint64_t kValues[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff,
                            0x80000000, 0xffffffff, 0x7fffffffffffffff, 0xffffffffffffdfff, 0xffffffffffffffff};

void Step(Rng& rng, const Corpus& corpus, Bytes* d) {
  size_t n = d->size();
  switch (rng.Below(9)) {
    case 0:  // flip one bit
      if (n > 0) (*d)[rng.Below(n)] ^= static_cast<uint8_t>(1u << rng.Below(8));
      return;
    case 1:  // a byte to an edge value, the first bytes (type, flags, versions) most often
      if (n > 0) (*d)[rng.OneIn(2) ? rng.Below(std::min<size_t>(n, 8)) : rng.Below(n)] = static_cast<uint8_t>(rng.Pick(kValues));
      return;
    case 2: {  // a 2-, 4- or 8-byte field, either byte order, to an edge value
      size_t width = size_t(2) << rng.Below(3);
      if (n < width) return;
      size_t at = rng.Below(n - width + 1);
      uint64_t v = rng.Pick(kValues);
      bool big = rng.OneIn(2);
      for (size_t i = 0; i < width; i++)
        (*d)[at + i] = static_cast<uint8_t>(v >> (8 * (big ? width - 1 - i : i)));
      return;
    }
    case 3:  // truncate, often at a header boundary
      d->resize(std::min(n, rng.OneIn(2) ? rng.Pick(kCuts) : rng.Below(n + 1)));
      return;
    case 4: {  // extend
      size_t more = rng.OneIn(8) ? rng.Below(4096) : 1 + rng.Below(32);
      more = std::min(more, kMaxLength - std::min(n, kMaxLength));
      size_t zeros = rng.Below(2);
      for (size_t i = 0; i < more; i++) d->push_back(zeros ? 0 : rng.Byte());
      return;
    }
    case 5: {  // insert a few bytes
      if (n + 16 > kMaxLength) return;
      size_t at = rng.Below(n + 1);
      Bytes bytes(1 + rng.Below(16));
      rng.Fill(bytes.data(), bytes.size());
      d->insert(d->begin() + static_cast<long>(at), bytes.begin(), bytes.end());
      return;
    }
    case 6: {  // delete a few bytes
      if (n == 0) return;
      size_t at = rng.Below(n);
      size_t count = std::min(n - at, 1 + rng.Below(16));
      d->erase(d->begin() + static_cast<long>(at), d->begin() + static_cast<long>(at + count));
      return;
    }
    case 7: {  // splice: this one's head, another's tail
      if (corpus.Empty()) return;
      const Bytes& other = corpus.Datagram(rng);
      size_t head = rng.Below(n + 1);
      size_t from = rng.Below(other.size() + 1);
      d->resize(head);
      d->insert(d->end(), other.begin() + static_cast<long>(from), other.end());
      if (d->size() > kMaxLength) d->resize(kMaxLength);
      return;
    }
    default:  // copy a run of bytes over another place in itself
      if (n < 2) return;
      size_t len = 1 + rng.Below(std::min<size_t>(n / 2, 16));
      size_t from = rng.Below(n - len + 1), to = rng.Below(n - len + 1);
      std::memmove(d->data() + to, d->data() + from, len);
      return;
  }
}

}  // namespace

void Mutate(Rng& rng, const Corpus& corpus, Bytes* data) {
  for (size_t steps = 1 + rng.Below(4); steps > 0; steps--) Step(rng, corpus, data);
}

}  // namespace overlay::fuzz
