// What the receive thread consults while it parses (peer_table.h), as one fuzz run holds it:
// sessions by receiver index, relay keys by tag, the route table. Random per world: MTU, keys,
// indexes, tags, prefixes (overlapping, of both families), who forwards, who is relayed. Beside
// the real ReplayWindow and AllowedIps, plain models that the real ones must agree with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "../src/datapath/aead.h"
#include "../src/datapath/allowed_ips.h"
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
  CheckedWindow window;
  uint64_t peer_counter = 0;
  uint64_t send_counter = 0;
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

  FuzzSession* FindSession(uint32_t index);
  FuzzRelayKey* FindRelay(uint64_t remote_tag);
  FuzzPeer* FindPeer(PeerId id);
  // Longest prefix by brute force over routes_made; a later insert of the same prefix wins.
  PeerId ModelLookup(const uint8_t* addr, int bytes) const;
  // An address inside one of `peer`'s prefixes of that family, or false if it has none.
  bool AddressOf(Rng& rng, PeerId peer, int bytes, uint8_t* out) const;

 private:
  void AddRoute(PeerId peer, int bytes, int length, const uint8_t* base);
};

}  // namespace overlay::fuzz
