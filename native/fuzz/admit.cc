// The receive thread's control datagrams (engine.cc: HandleControl, AdmitHandshake,
// AdmitOverlay), step for step against the world's screens and budgets: what admission::Classify
// says a datagram is, then handshake_screen.h for WireGuard's handshakes, admission.h's mac1 and
// budgets for overlay's messages. Every cookie reply the screen writes is opened as its sender
// would open it, and the cookie inside is what that source's next handshakes carry their mac2
// under (generate.cc).
#include <vector>

#include "invariants.h"
#include "receive.h"

namespace overlay::fuzz {

void Receiver::Control(const uint8_t* p, size_t n, PeerId via, PeerId sender) {
  counts_.classified++;
  bool relayed = via != kNoPeer;
  admission::Kind kind = parsers_.classify(p, n, relayed);
  ExpectKind(p, n, relayed, kind);
  bool admitted = false;
  switch (kind) {
    case admission::Kind::kJunk:
      counts_.junk++;
      return;
    case admission::Kind::kHandshake:
      counts_.handshakes++;
      admitted = AdmitHandshake(p, n, relayed);
      break;
    case admission::Kind::kSealed:
      counts_.sealed++;
      admitted = AdmitOverlay(kind, p, n, sender);
      break;
    case admission::Kind::kJoinQuery:
      counts_.join_queries++;
      admitted = AdmitOverlay(kind, p, n, sender);
      break;
    case admission::Kind::kStun:
      counts_.stun++;
      admitted = AdmitOverlay(kind, p, n, sender);
      break;
  }
  if (!admitted) return;
  counts_.up++;
  std::vector<uint8_t> up(p, p + n);  // the UpEvent's copy
  ReadAll(up.data(), up.size());
}

bool Receiver::AdmitHandshake(const uint8_t* p, size_t n, bool relayed) {
  if (p[0] == wire::kCookieReply || !w_.handshake_screen) {
    counts_.handshake_unscreened++;
    return true;
  }
  Macs macs = MacsOk(w_, p, n);
  uint8_t reply[wire::kCookieReplySize];
  HandshakeScreen::Verdict verdict = w_.screen.Screen(p, n, w_.sources[w_.from], relayed, w_.now_ms, reply);
  if ((verdict == HandshakeScreen::Verdict::kBadMac1) == macs.mac1)
    Fail("the handshake screen said verdict %d of a message whose mac1 is %s", int(verdict), macs.mac1 ? "ours" : "not");
  switch (verdict) {
    case HandshakeScreen::Verdict::kUp:
      if (!relayed && macs.mac2) counts_.handshake_mac2++;
      return true;
    case HandshakeScreen::Verdict::kBadMac1:
      counts_.handshake_bad_mac1++;
      return false;
    case HandshakeScreen::Verdict::kCookie: {
      counts_.handshake_cookie++;
      ReadAll(reply, sizeof reply);  // sendto
      uint8_t cookie[kMacSize];
      OpenCookieReply(w_, p, n, reply, cookie);
      std::memcpy(w_.cookies[w_.from].data(), cookie, kMacSize);
      w_.has_cookie[w_.from] = true;
      w_.cookie_source = static_cast<long>(w_.from);
      return false;
    }
    case HandshakeScreen::Verdict::kCookieRate:
      counts_.handshake_cookie_rate++;
      return false;
    case HandshakeScreen::Verdict::kSourceRate:
      counts_.handshake_source_rate++;
      return false;
  }
  return false;
}

bool Receiver::AdmitOverlay(admission::Kind kind, const uint8_t* p, size_t n, PeerId sender) {
  FuzzPeer* member = nullptr;
  if (kind == admission::Kind::kSealed) {
    if (w_.sealed_screen) {
      bool ok = parsers_.sealed_mac1_ok(w_.sealed_key, p, n);
      ExpectSealedMac1(w_.sealed_key, p, n, ok);
      if (!ok) {
        counts_.sealed_bad_mac++;
        return false;
      }
    }
    member = sender != kNoPeer ? w_.FindPeer(sender) : w_.FindByPublicKey(p + admission::kSenderKeyAt);
  }
  const Limits& l = w_.limits;
  if (member) {
    bool usual = sender != kNoPeer || (member->endpoint >= 0 && static_cast<size_t>(member->endpoint) == w_.from);
    (usual ? counts_.member_usual : counts_.member_elsewhere)++;
    bool admitted = usual ? member->sealed_budget.Take(l.sealed_per_peer_per_second, l.sealed_per_peer_burst, w_.now_ms)
                          : member->sealed_elsewhere.Take(l.sealed_elsewhere_per_second,
                                                          l.sealed_elsewhere_per_second, w_.now_ms);
    if (!admitted) counts_.member_rate++;
    return admitted;
  }
  counts_.stranger++;
  if (w_.strangers.Take(l.strangers_per_second, l.strangers_burst, w_.now_ms)) return true;
  counts_.stranger_rate++;
  return false;
}

}  // namespace overlay::fuzz
