// The data path's counters, declared once. Every discarded datagram lands in exactly one of them,
// so a flood or a bug shows up as a number, never as a crash.
//
// One line per counter: X(field, jsName, "what it counts"). The engine's atomics are made from
// this table, DataPath.stats() and DataPath.counterNames read it, and
// native/scripts/counters-to-ts.mjs makes the TypeScript type (native/counters.d.ts) from the
// same lines — test/native/counters.test.ts fails when that file is out of date. Strings are one
// line each, in double quotes, without a double quote inside.
#pragma once

#include <atomic>
#include <cstdint>

#define OVERLAY_ENGINE_COUNTERS(X)                                                                                   \
  /* Receive thread: what came in on the UDP socket, and where each datagram ended. */                              \
  X(rx_datagrams, rxDatagrams, "Datagrams read from the UDP socket.")                                               \
  X(udp_gro_received, udpGroReceived, "Messages from the UDP socket that held two or more datagrams of one sender (UDP GRO).") \
  X(udp_gro_refused, udpGroRefused, "Times the kernel refused UDP GRO: datagrams then come one per message.")       \
  X(rx_transport, rxTransport, "Well-formed WireGuard transport messages among them (their fate counts below).")    \
  X(rx_control, rxControl, "Handshake, overlay and STUN messages queued up to JavaScript.")                         \
  X(rx_junk, rxJunk, "Datagrams of no type a node takes (wrong sizes, reserved bytes, unknown types).")              \
  X(rx_unknown_index, rxUnknownIndex, "Transport messages for a receiver index no session holds.")                  \
  X(rx_replay, rxReplay, "Transport messages whose counter was seen already or is too old for the window.")         \
  X(rx_auth_failed, rxAuthFailed, "Transport messages that did not decrypt under their session's key.")              \
  X(rx_expired, rxExpired, "Transport messages for a session older than REJECT_AFTER_TIME.")                        \
  X(rx_bad_inner, rxBadInner, "Decrypted packets that are not a well-formed IPv4 or IPv6 packet.")                 \
  X(rx_source_denied, rxSourceDenied, "Decrypted packets from an inner source address the sender does not own.")    \
  X(rx_destination_denied, rxDestinationDenied, "Decrypted packets to an address that is not this node's (options.addresses), nor forwarded to a peer: another network's, on a host in several.") \
  X(rx_keepalive, rxKeepalive, "Keepalives (empty transport messages).")                                            \
  X(tun_write_failed, tunWriteFailed, "Packets the TUN device refused to take.")                                    \
  X(tun_gro_written, tunGroWritten, "Super-packets written to the TUN device, each of two or more TCP segments of one flow.") \
  /* Send thread: packets read from the TUN device. */                                                              \
  X(tx_packets, txPackets, "Packets sealed and sent to a peer.")                                                     \
  X(tx_no_route, txNoRoute, "Packets to an address no peer's allowed IPs cover.")                                   \
  X(tx_staged, txStaged, "Packets held for a peer until its session is up.")                                        \
  X(tx_staged_dropped, txStagedDropped, "Held packets dropped, oldest first, because a peer's queue was full.")      \
  X(tx_no_endpoint, txNoEndpoint, "Packets for a peer with no endpoint and no relay.")                              \
  X(tx_send_failed, txSendFailed, "Datagrams the UDP socket refused to send.")                                       \
  X(udp_gso_sent, udpGsoSent, "Messages that carried a run of two or more datagrams to one peer (UDP GSO, UDP_SEGMENT).") \
  X(udp_gso_refused, udpGsoRefused, "Times the kernel refused UDP GSO (at start or at send time): datagrams then go one per message.") \
  X(udp_gso_too_big, udpGsoTooBig, "Runs the kernel refused as larger than the path takes unfragmented (a relay envelope around a full-size packet): sent one by one, and runs of that size no longer made.") \
  X(tun_read_bad, tunReadBad, "Packets read from the TUN device longer than the MTU, or not IPv4 or IPv6.")          \
  X(tun_gso_read, tunGsoRead, "TCP super-packets read from the TUN device (TSO) and split into MTU-sized segments.") \
  X(tun_gso_bad, tunGsoBad, "Super-packets read from the TUN device that could not be split (not TCP as their header said, or segments over the MTU).") \
  X(tun_offload_refused, tunOffloadRefused, "Times the TUN device refused offloads (TUNSETOFFLOAD): reads and writes then move one packet each.") \
  X(tun_device_dropped, tunDeviceDropped,                                                                            \
    "Packets the TUN device itself dropped because its queue to the send thread was full (the link's TX dropped, read from the kernel when stats are asked for).") \
  /* Up to JavaScript. */                                                                                            \
  X(up_queue_dropped, upQueueDropped,                                                                                \
    "Handshake messages dropped because their queue to JavaScript was full (events have their own, larger bound).") \
  X(forwarded, forwarded, "Packets forwarded from one peer to another.")                                            \
  X(forward_hop_limit, forwardHopLimit, "Packets not forwarded because their hop limit ran out.")                  \
  /* overlay's own messages (admission.h). */                                                                        \
  X(rx_sealed_bad_mac, rxSealedBadMac, "Sealed overlay messages whose mac1 was not made with this node's key.")      \
  X(rx_overlay_member_rate, rxOverlayMemberRate, "Overlay messages over a member's budget.")                        \
  X(rx_overlay_stranger_rate, rxOverlayStrangerRate, "Overlay messages over the strangers' shared budget.")         \
  X(overlay_queue_dropped, overlayQueueDropped, "Overlay messages dropped because their queue to JavaScript was full.") \
  /* WireGuard's handshake messages (handshake_screen.h). */                                                         \
  X(rx_handshake_bad_mac1, rxHandshakeBadMac1, "Handshake messages whose mac1 was not made with this node's key.")  \
  X(rx_handshake_cookie, rxHandshakeCookie, "Under load: handshake messages without a valid mac2, answered with a cookie.") \
  X(rx_handshake_cookie_rate, rxHandshakeCookieRate,                                                                 \
    "Under load: handshake messages without a valid mac2, dropped because the cookie budget was spent.")            \
  X(rx_handshake_source_rate, rxHandshakeSourceRate,                                                                 \
    "Under load: handshake messages with a valid mac2 from a source address over its budget.")                      \
  /* Relay envelopes (relay.cc). */                                                                                  \
  X(relay_out, relayedOut, "Datagrams this node wrapped in an envelope for a relay.")                               \
  X(relay_in, relayedIn, "Envelopes from a relay this node accepted.")                                              \
  X(relay_forwarded, relayForwarded, "Envelopes this node forwarded as a relay.")                                   \
  X(relay_fragmented, relayFragmented,                                                                               \
    "Relayed datagrams over 1472 bytes of UDP payload, which an IPv4 underlay with a 1500-byte MTU fragments (the envelope adds 44 bytes: a TUN MTU of 1376, 1356 over IPv6, avoids it).") \
  X(relay_bad_mac, relayDroppedBadMac, "Envelopes whose MAC did not verify (forged, or a key mismatch).")           \
  X(relay_replay, relayDroppedReplay, "Envelopes whose counter was seen already or is too old for the window.")     \
  X(relay_unknown_tag, relayDroppedUnknownTag, "Envelopes whose MAC tag, or sender named by a relay, has no key here.") \
  X(relay_not_member, relayDroppedNotMember, "Envelopes to relay to no member with a key here, or back to the sender.") \
  X(relay_rate, relayDroppedRate, "Envelopes to relay from a sender over its byte rate.")                                \
  X(relay_disabled, relayDroppedDisabled, "Envelopes to relay while this node relays for no one.")                  \
  X(relay_malformed, relayDroppedMalformed, "Envelopes with bad flags, too short, or inside another envelope.")      \
  X(relay_no_path, relayDroppedNoPath,                                                                               \
    "Datagrams not sent: a relayed peer's relay is unknown, or lacks a key or endpoint, or the peer lacks a key.")  \
  X(relay_wrong_sender, relayDroppedWrongSender,                                                                     \
    "Relayed transport messages whose session belongs to another peer than the envelope names.")                    \
  X(relay_stale_key, relayDroppedStaleKey,                                                                           \
    "Envelopes under a key id this node does not hold: an epoch it has not heard yet, or an old envelope replayed.")

namespace overlay {

struct EngineCounters {
#define OVERLAY_COUNTER_FIELD(field, js, doc) std::atomic<uint64_t> field{0};
  OVERLAY_ENGINE_COUNTERS(OVERLAY_COUNTER_FIELD)
#undef OVERLAY_COUNTER_FIELD
};

}  // namespace overlay
