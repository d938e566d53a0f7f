// What the driver saw, per parser and per outcome: proof that a run reached every stage, not
// only that it did not crash.
#pragma once

#include <cstdint>

namespace overlay::fuzz {

// name, group, what it counts
#define OVERLAY_FUZZ_COUNTS(X)                                                      \
  X(truncated, "slot", "longer than the slot's capacity: dropped as truncated")     \
  X(classified, "classify", "datagrams classified, inner ones included")            \
  X(junk, "classify", "junk")                                                       \
  X(handshakes, "classify", "WireGuard handshake messages")                          \
  X(sealed, "classify", "overlay's sealed messages")                                 \
  X(join_queries, "classify", "overlay's join queries")                              \
  X(stun, "classify", "STUN answers")                                               \
  X(handshake_unscreened, "screen", "cookie replies, or no screen configured: up")   \
  X(handshake_bad_mac1, "screen", "mac1 not made with our key")                      \
  X(handshake_cookie, "screen", "under load without mac2: answered with a cookie")   \
  X(handshake_cookie_rate, "screen", "under load, cookie budget spent")              \
  X(handshake_mac2, "screen", "up with a valid mac2 (under load: source charged)")     \
  X(handshake_source_rate, "screen", "its source over its budget")                   \
  X(sealed_bad_mac, "admit", "sealed, mac1 not made with our key")                   \
  X(member_usual, "admit", "sealed from a member's endpoint or relayed: its budget") \
  X(member_elsewhere, "admit", "sealed with a member's key from elsewhere")          \
  X(member_rate, "admit", "over a member's budget")                                  \
  X(stranger, "admit", "from strangers: their shared budget")                        \
  X(stranger_rate, "admit", "over the strangers' budget")                            \
  X(up, "admit", "copied up to JavaScript")                                          \
  X(envelopes, "envelope", "classified as envelopes")                               \
  X(envelope_malformed, "envelope", "refused by the header parser")                 \
  X(envelope_disabled, "envelope", "for the relay service, which is off")         \
  X(envelope_unknown_tag, "envelope", "a tag names no member, or both the same")    \
  X(envelope_stale_key, "envelope", "key id of an epoch we do not hold")            \
  X(envelope_replay, "envelope", "refused by the replay window")                    \
  X(envelope_bad_mac, "envelope", "MAC did not verify")                             \
  X(envelope_forwarded, "envelope", "re-wrapped in place and forwarded")            \
  X(envelope_opened, "envelope", "opened for us")                                   \
  X(envelope_nested, "envelope", "an envelope inside: refused")                     \
  X(transports, "transport", "parsed transport headers")                            \
  X(transport_unknown_index, "transport", "receiver index of no session")           \
  X(transport_wrong_sender, "transport", "relayed, but the session is another's")   \
  X(transport_replay, "transport", "refused by the replay window")                  \
  X(transport_auth_failed, "transport", "did not authenticate")                     \
  X(transport_opened, "transport", "decrypted in place")                            \
  X(keepalives, "transport", "empty: keepalives")                                   \
  X(inner_v4, "inner", "IPv4 headers parsed")                                       \
  X(inner_v6, "inner", "IPv6 headers parsed")                                       \
  X(inner_bad, "inner", "refused by the IP header parser")                          \
  X(source_denied, "routes", "inner source not the sender's")                       \
  X(hop_expired, "hop", "TTL or hop limit would reach zero")                        \
  X(hop_decremented, "hop", "TTL or hop limit decremented")                         \
  X(forwarded_direct, "forward", "re-sealed in place for another peer")             \
  X(forwarded_relayed, "forward", "re-sealed and wrapped for a relayed peer")       \
  X(delivered, "deliver", "written to the TUN (read back in full)")                 \
  X(tun_packets, "tun", "packets read from the TUN")                                \
  X(tun_oversized, "tun", "longer than the MTU: dropped")                          \
  X(tun_bad, "tun", "refused by the IP header parser")                             \
  X(tun_no_route, "tun", "to no peer")                                             \
  X(tun_sealed_direct, "tun", "sealed in place for a peer")                        \
  X(tun_sealed_relayed, "tun", "sealed and wrapped for a relayed peer")            \
  X(offload_reads, "offload", "TUN reads behind a virtio-net header")              \
  X(offload_checksums, "offload", "checksums finished (NEEDS_CSUM)")                 \
  X(offload_bad, "offload", "super-packets refused by the split")                  \
  X(offload_split, "offload", "super-packets split into segments")                 \
  X(gro_batches, "gro", "batches planned by the coalescer")                         \
  X(gro_coalesced, "gro", "super-packets made of two or more")                      \
  X(window_checks, "replay", "real window and model asked")                         \
  X(route_lookups, "routes", "real table and model asked")

struct Counts {
#define OVERLAY_FUZZ_FIELD(name, group, what) uint64_t name = 0;
  OVERLAY_FUZZ_COUNTS(OVERLAY_FUZZ_FIELD)
#undef OVERLAY_FUZZ_FIELD
};

}  // namespace overlay::fuzz
