// What the receive thread consults while it parses (peer_table.h, engine.h), as one fuzz run
// holds it: sessions by receiver index, relay keys by tag and key id, the route table, members'
// public keys and endpoints, admission.h's budgets and handshake_screen.h's screen. Random per
// world: MTU, keys, indexes, tags, prefixes (overlapping, of both families), who forwards, who is
// relayed, which screens are on and their limits. A simulated clock moves per input, and now
// and then a member restarts (a new relay epoch). Beside the real ReplayWindow and AllowedIps,
// plain models that the real ones must agree with.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "../src/datapath/admission.h"
#include "../src/datapath/aead.h"
#include "../src/datapath/allowed_ips.h"
#include "../src/datapath/handshake_screen.h"
#include "../src/datapath/slots.h"
#include "../src/datapath/replay_window.h"
#include "parsers.h"
#include "rng.h"

namespace overlay::fuzz {

// Remembers every counter it accepted inside the window: what the ring of blocks must agree with.
class ModelWindow {
 public:
  bool Check(uint64_t c) const {
    if (c >= ReplayWindow::kRejectAfterMessages) return false;
    if (!any_ || c > newest_) return true;
    if (newest_ - c >= ReplayWindow::kWindow) return false;
    return seen_.count(c) == 0;
  }
  bool Accept(uint64_t c) {
    if (!Check(c)) return false;
    seen_.insert(c);
    if (!any_ || c > newest_) newest_ = c;
    any_ = true;
    while (newest_ - *seen_.begin() >= ReplayWindow::kWindow) seen_.erase(seen_.begin());
    return true;
  }

 private:
  std::set<uint64_t> seen_;
  uint64_t newest_ = 0;
  bool any_ = false;
};

// A window and its model, always asked together.
struct CheckedWindow {
  ReplayWindow real;
  ModelWindow model;
};

struct FuzzSession {
  uint32_t index;         // receiver index on datagrams to us
  uint32_t remote_index;  // receiver index on datagrams we send
  PeerId peer;
  uint8_t recv_key[kKeySize];
  uint8_t send_key[kKeySize];
  CheckedWindow window;
  uint64_t peer_counter = 0;  // the generator's: the next counter the peer sends
  uint64_t send_counter = 0;  // ours, for packets we forward
};

struct FuzzRelayKey {
  PeerId peer;
  uint64_t local_tag;   // names us to that member
  uint64_t remote_tag;  // names that member
  uint8_t key[kKeySize];
  uint16_t key_id;  // of this pair of epochs (relay.cc)
  // The key and id of the member's epoch before it restarted (World::Tick): what an envelope it
  // sent before, or a replay of one, still carries. The receiver holds only the new one.
  bool has_stale = false;
  uint8_t stale_key[kKeySize];
  uint16_t stale_key_id = 0;
  CheckedWindow window;
  uint64_t peer_counter = 0;
};

struct Route {
  uint8_t addr[16];
  int bytes;  // 4 or 16
  int length;
  PeerId peer;
};

struct FuzzPeer {
  PeerId id;
  bool forward;       // a router: packets from or to it are forwarded between peers
  PeerId relay_via;   // kNoPeer, or the member whose relay carries our datagrams to it
  size_t session;     // index in World::sessions of its current session
  long relay = -1;    // index in World::relays of its relay key, -1 for none
  bool has_public_key;
  uint8_t public_key[32];  // names it in sealed messages' headers (admission.h)
  long endpoint = -1;      // its known endpoint, an index in World::sources; -1 for none yet
  admission::Bucket sealed_budget, sealed_elsewhere;  // as Peer's (peer_table.h)
};

// Engine's admission limits (engine.h), in each world either its defaults or small ones that a
// run reaches.
struct Limits {
  double sealed_per_peer_per_second, sealed_per_peer_burst, sealed_elsewhere_per_second;
  double strangers_per_second, strangers_burst;
};

class World {
 public:
  // The slots' layouts come from `parsers` (slots.h, or a broken twin in the self-test).
  World(Rng& rng, const Parsers& parsers);

  size_t mtu;
  wire::ReceiveSlot receive_slot;
  wire::SendSlot send_slot;
  bool relay_service;
  std::vector<FuzzPeer> peers;
  std::vector<FuzzSession> sessions;
  std::vector<FuzzRelayKey> relays;
  std::vector<Route> routes_made;  // every prefix inserted, in order: the model's table
  AllowedIps routes;

  // Where datagrams come from: members' endpoints and strangers' addresses, IPv4-mapped and IPv6.
  std::vector<sockaddr_in6> sources;
  size_t from = 0;      // this input's source, an index in `sources`
  int64_t now_ms = 0;   // the receive thread's clock
  Limits limits;
  admission::Bucket strangers;
  bool sealed_screen;   // Engine::SetSealedScreen called: mac1 of sealed messages checked
  uint8_t sealed_key[admission::kMac1KeySize];
  bool handshake_screen;  // Engine::SetHandshakeScreen called
  uint8_t mac1_key[HandshakeScreen::kKeySize];
  uint8_t cookie_key[HandshakeScreen::kKeySize];
  HandshakeScreen screen;
  // τ from the screen's cookie replies, by source: what that source's next handshake puts its
  // mac2 under, as a real sender would (whitepaper §5.4.7).
  std::vector<std::array<uint8_t, kMacSize>> cookies;
  std::vector<bool> has_cookie;
  long cookie_source = -1;  // the source last given one
  uint64_t relay_counter = 0;  // Engine::relay_counter_: every envelope we MAC takes the next

  // Before each input: the clock moves, a source is picked, and rarely a member restarts.
  void Tick(Rng& rng);
  FuzzSession* FindSession(uint32_t index);
  FuzzRelayKey* FindRelay(uint64_t remote_tag);
  FuzzPeer* FindPeer(PeerId id);
  FuzzPeer* FindByPublicKey(const uint8_t* key);
  // Longest prefix by brute force over routes_made; a later insert of the same prefix wins.
  PeerId ModelLookup(const uint8_t* addr, int bytes) const;
  // An address inside one of `peer`'s prefixes of that family, or false if it has none.
  bool AddressOf(Rng& rng, PeerId peer, int bytes, uint8_t* out) const;

 private:
  void AddRoute(PeerId peer, int bytes, int length, const uint8_t* base);
  void AddSource(Rng& rng);
};

}  // namespace overlay::fuzz
