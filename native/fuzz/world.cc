#include "world.h"

#include <cstring>

namespace overlay::fuzz {

namespace {

// True when the first `length` bits of a and b agree.
bool SamePrefix(const uint8_t* a, const uint8_t* b, int length) {
  int whole = length / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  int rest = length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// The overlay ranges DESIGN.md assigns, where most prefixes are drawn from.
const uint8_t kOverlay4[4] = {100, 64, 0, 0};
const uint8_t kOverlay6[16] = {0xfd, 0};

}  // namespace

World::World(Rng& rng, const Parsers& parsers) {
  // The data path's MTU range is 576..9000 (datapath_wrap.cc).
  static const size_t kMtus[] = {576, 577, 1280, 1420, 1500, 1956, 1957, 8999, 9000};
  mtu = rng.Pick(kMtus);
  receive_slot = parsers.receive_slot(mtu);
  send_slot = parsers.send_slot(mtu);
  relay_service = !rng.OneIn(4);

  size_t count = 2 + rng.Below(4);
  peers.reserve(count);
  sessions.reserve(count * 2);
  relays.reserve(count);
  for (size_t i = 0; i < count; i++) {
    FuzzPeer peer{};
    peer.id = static_cast<PeerId>(i + 1);
    peer.forward = rng.OneIn(3);
    peer.relay_via = kNoPeer;
    // A current session, and sometimes the previous one still receiving (whitepaper §5.4.5).
    for (size_t k = rng.OneIn(3) ? 2 : 1; k > 0; k--) {
      FuzzSession s{};
      // Indexes are random 32-bit values; a rare clash just leaves one session unreachable.
      s.index = static_cast<uint32_t>(rng.Next());
      s.remote_index = static_cast<uint32_t>(rng.Next());
      s.peer = peer.id;
      rng.Fill(s.recv_key, kKeySize);
      rng.Fill(s.send_key, kKeySize);
      peer.session = sessions.size();
      sessions.push_back(s);
    }
    if (!rng.OneIn(4)) {
      FuzzRelayKey r{};
      r.peer = peer.id;
      r.local_tag = rng.Next();
      r.remote_tag = rng.Next() | 1;  // never 0, and distinct from local_tag below
      if (r.local_tag == r.remote_tag) r.local_tag ^= 2;
      rng.Fill(r.key, kKeySize);
      r.key_id = static_cast<uint16_t>(rng.Next());
      peer.relay = static_cast<long>(relays.size());
      relays.push_back(r);
    }
    // Most members have given their public key and have a known endpoint.
    peer.has_public_key = !rng.OneIn(6);
    rng.Fill(peer.public_key, sizeof peer.public_key);
    if (!rng.OneIn(5)) {
      peer.endpoint = static_cast<long>(sources.size());
      AddSource(rng);
    }
    peers.push_back(peer);
  }
  for (size_t k = 2 + rng.Below(3); k > 0; k--) AddSource(rng);  // strangers
  cookies.resize(sources.size());
  has_cookie.assign(sources.size(), false);
  now_ms = 1 + static_cast<int64_t>(rng.Below(1'000'000));
  // engine.h's defaults, or small limits a run spends.
  static const Limits kLimits[] = {{1000, 1000, 100, 256, 256}, {4, 4, 2, 3, 3}, {1, 1, 1, 1, 1}};
  limits = rng.Pick(kLimits);
  sealed_screen = !rng.OneIn(8);
  rng.Fill(sealed_key, sizeof sealed_key);
  handshake_screen = !rng.OneIn(8);
  rng.Fill(mac1_key, sizeof mac1_key);
  rng.Fill(cookie_key, sizeof cookie_key);
  if (handshake_screen) {
    // Load from the first handshake (0), soon, or only under a real flood (the default).
    static const HandshakeScreenConfig kScreens[] = {{0, 2048, 10, 20}, {2, 1, 1, 2}, {8, 2048, 1, 1}, {64, 2048, 10, 20}};
    screen.Configure(mac1_key, cookie_key, rng.Pick(kScreens));
  }
  // Relayed peers: both it and its relay hold relay keys, as Engine::Address requires.
  for (auto& peer : peers) {
    if (peer.relay < 0 || !rng.OneIn(3)) continue;
    const FuzzPeer& via = rng.Pick(peers);
    if (via.id != peer.id && via.relay >= 0) peer.relay_via = via.id;
  }
  for (const auto& peer : peers) {
    uint8_t base[16] = {};
    std::memcpy(base, kOverlay4, 4);
    base[2] = static_cast<uint8_t>(peer.id);
    AddRoute(peer.id, 4, 32, base);
    std::memcpy(base, kOverlay6, 16);
    base[15] = static_cast<uint8_t>(peer.id);
    AddRoute(peer.id, 16, 128, base);
    // Subnets behind it, some overlapping others' (the longest prefix must win), and rarely a
    // default route: an exit node.
    for (size_t k = rng.Below(3); k > 0; k--) {
      int bytes = rng.OneIn(2) ? 4 : 16;
      uint8_t any[16];
      rng.Fill(any, 16);
      if (rng.OneIn(2)) std::memcpy(any, bytes == 4 ? kOverlay4 : kOverlay6, 2);
      AddRoute(peer.id, bytes, static_cast<int>(rng.Below(bytes * 8 + 1)), any);
    }
  }
}

void World::AddSource(Rng& rng) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = static_cast<uint16_t>(rng.Next());
  if (rng.OneIn(2)) {
    // 203.0.113.0/24 (TEST-NET-3), IPv4-mapped as the dual-stack socket reports it.
    static const uint8_t kMapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 0};
    std::memcpy(a.sin6_addr.s6_addr, kMapped, 16);
    a.sin6_addr.s6_addr[15] = rng.Byte();
  } else {
    static const uint8_t kDoc6[4] = {0x20, 0x01, 0x0d, 0xb8};  // 2001:db8::/32 (RFC 3849)
    rng.Fill(a.sin6_addr.s6_addr, 16);
    std::memcpy(a.sin6_addr.s6_addr, kDoc6, 4);
  }
  sources.push_back(a);
}

void World::Tick(Rng& rng) {
  // Mostly datagrams a millisecond or less apart, so budgets run out; now and then a pause, and
  // rarely one past the cookie secret's two minutes.
  int64_t step = rng.OneIn(50'000) ? 100'000 + static_cast<int64_t>(rng.Below(100'000))
                 : rng.OneIn(256)  ? static_cast<int64_t>(rng.Below(1'500))
                                   : static_cast<int64_t>(rng.Below(2));
  now_ms += step;
  from = rng.Below(sources.size());
  if (!relays.empty() && rng.OneIn(2000)) {
    // A member restarted: a new epoch, so a new key and key id, and a new window (relay.cc).
    FuzzRelayKey& k = rng.Pick(relays);
    k.has_stale = true;
    std::memcpy(k.stale_key, k.key, kKeySize);
    k.stale_key_id = k.key_id;
    rng.Fill(k.key, kKeySize);
    k.key_id = static_cast<uint16_t>(rng.Next());
    k.window = CheckedWindow{};
    k.peer_counter = 0;
  }
}

FuzzPeer* World::FindByPublicKey(const uint8_t* key) {
  for (auto& p : peers)
    if (p.has_public_key && std::memcmp(p.public_key, key, sizeof p.public_key) == 0) return &p;
  return nullptr;
}

void World::AddRoute(PeerId peer, int bytes, int length, const uint8_t* base) {
  Route r{};
  std::memcpy(r.addr, base, bytes);
  r.bytes = bytes;
  r.length = length;
  r.peer = peer;
  routes_made.push_back(r);
  routes.Insert(r.addr, bytes, length, peer);
}

FuzzSession* World::FindSession(uint32_t index) {
  for (auto& s : sessions)
    if (s.index == index) return &s;
  return nullptr;
}

FuzzRelayKey* World::FindRelay(uint64_t remote_tag) {
  for (auto& r : relays)
    if (r.remote_tag == remote_tag) return &r;
  return nullptr;
}

FuzzPeer* World::FindPeer(PeerId id) {
  for (auto& p : peers)
    if (p.id == id) return &p;
  return nullptr;
}

PeerId World::ModelLookup(const uint8_t* addr, int bytes) const {
  PeerId best = kNoPeer;
  int best_length = -1;
  for (const auto& r : routes_made) {
    if (r.bytes != bytes || !SamePrefix(r.addr, addr, r.length)) continue;
    if (r.length >= best_length) {  // >=: the later insert of one prefix replaced the earlier
      best = r.peer;
      best_length = r.length;
    }
  }
  return best;
}

bool World::AddressOf(Rng& rng, PeerId peer, int bytes, uint8_t* out) const {
  std::vector<const Route*> mine;
  for (const auto& r : routes_made)
    if (r.peer == peer && r.bytes == bytes) mine.push_back(&r);
  if (mine.empty()) return false;
  const Route& r = *rng.Pick(mine);
  rng.Fill(out, bytes);
  for (int i = 0; i < bytes; i++) {
    int bits = r.length - i * 8;
    if (bits <= 0) break;
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    out[i] = static_cast<uint8_t>((r.addr[i] & mask) | (out[i] & ~mask));
  }
  return true;
}

}  // namespace overlay::fuzz
