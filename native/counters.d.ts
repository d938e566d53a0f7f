// Made by native/scripts/counters-to-ts.mjs from native/src/datapath/engine_counters.h: edit
// the table there, then run `npm run gen:counters`.

/** Drop and traffic counters of the whole data path: every discarded datagram lands in one. */
export interface DataPathStats {
  // Receive thread: what came in on the UDP socket, and where each datagram ended.
  /** Datagrams read from the UDP socket. */
  rxDatagrams: number;
  /** Messages from the UDP socket that held two or more datagrams of one sender (UDP GRO). */
  udpGroReceived: number;
  /** Times the kernel refused UDP GRO: datagrams then come one per message. */
  udpGroRefused: number;
  /** Well-formed WireGuard transport messages among them (their fate counts below). */
  rxTransport: number;
  /** Handshake, overlay and STUN messages queued up to JavaScript. */
  rxControl: number;
  /** Datagrams of no type a node takes (wrong sizes, reserved bytes, unknown types). */
  rxJunk: number;
  /** Transport messages for a receiver index no session holds. */
  rxUnknownIndex: number;
  /** Transport messages whose counter was seen already or is too old for the window. */
  rxReplay: number;
  /** Transport messages that did not decrypt under their session's key. */
  rxAuthFailed: number;
  /** Transport messages for a session older than REJECT_AFTER_TIME. */
  rxExpired: number;
  /** Decrypted packets that are not a well-formed IPv4 or IPv6 packet. */
  rxBadInner: number;
  /** Decrypted packets from an inner source address the sender does not own. */
  rxSourceDenied: number;
  /** Decrypted packets to an address that is not this node's (options.addresses), nor forwarded to a peer: another network's, on a host in several. */
  rxDestinationDenied: number;
  /** Keepalives (empty transport messages). */
  rxKeepalive: number;
  /** Packets the TUN device refused to take. */
  tunWriteFailed: number;
  /** Super-packets written to the TUN device, each of two or more TCP segments of one flow. */
  tunGroWritten: number;
  // Send thread: packets read from the TUN device.
  /** Packets sealed and sent to a peer. */
  txPackets: number;
  /** Packets to an address no peer's allowed IPs cover. */
  txNoRoute: number;
  /** Packets held for a peer until its session is up. */
  txStaged: number;
  /** Held packets dropped, oldest first, because a peer's queue was full. */
  txStagedDropped: number;
  /** Packets for a peer with no endpoint and no relay. */
  txNoEndpoint: number;
  /** Datagrams the UDP socket refused to send. */
  txSendFailed: number;
  /** Messages that carried a run of two or more datagrams to one peer (UDP GSO, UDP_SEGMENT). */
  udpGsoSent: number;
  /** Times the kernel refused UDP GSO (at start or at send time): datagrams then go one per message. */
  udpGsoRefused: number;
  /** Runs the kernel refused as larger than the path takes unfragmented (a relay envelope around a full-size packet): sent one by one, and runs of that size no longer made. */
  udpGsoTooBig: number;
  /** Packets read from the TUN device longer than the MTU, or not IPv4 or IPv6. */
  tunReadBad: number;
  /** TCP super-packets read from the TUN device (TSO) and split into MTU-sized segments. */
  tunGsoRead: number;
  /** Super-packets read from the TUN device that could not be split (not TCP as their header said, or segments over the MTU). */
  tunGsoBad: number;
  /** Times the TUN device refused offloads (TUNSETOFFLOAD): reads and writes then move one packet each. */
  tunOffloadRefused: number;
  /** Packets the TUN device itself dropped because its queue to the send thread was full (the link's TX dropped, read from the kernel when stats are asked for). */
  tunDeviceDropped: number;
  // Up to JavaScript.
  /** Handshake messages dropped because their queue to JavaScript was full (events have their own, larger bound). */
  upQueueDropped: number;
  /** Packets forwarded from one peer to another. */
  forwarded: number;
  /** Packets not forwarded because their hop limit ran out. */
  forwardHopLimit: number;
  // overlay's own messages (admission.h).
  /** Sealed overlay messages whose mac1 was not made with this node's key. */
  rxSealedBadMac: number;
  /** Overlay messages over a member's budget. */
  rxOverlayMemberRate: number;
  /** Overlay messages over the strangers' shared budget. */
  rxOverlayStrangerRate: number;
  /** Overlay messages dropped because their queue to JavaScript was full. */
  overlayQueueDropped: number;
  // WireGuard's handshake messages (handshake_screen.h).
  /** Handshake messages whose mac1 was not made with this node's key. */
  rxHandshakeBadMac1: number;
  /** Under load: handshake messages without a valid mac2, answered with a cookie. */
  rxHandshakeCookie: number;
  /** Under load: handshake messages without a valid mac2, dropped because the cookie budget was spent. */
  rxHandshakeCookieRate: number;
  /** Under load: handshake messages with a valid mac2 from a source address over its budget. */
  rxHandshakeSourceRate: number;
  // Relay envelopes (relay.cc).
  /** Datagrams this node wrapped in an envelope for a relay. */
  relayedOut: number;
  /** Envelopes from a relay this node accepted. */
  relayedIn: number;
  /** Envelopes this node forwarded as a relay. */
  relayForwarded: number;
  /** Relayed datagrams over 1472 bytes of UDP payload, which an IPv4 underlay with a 1500-byte MTU fragments (the envelope adds 44 bytes: a TUN MTU of 1376, 1356 over IPv6, avoids it). */
  relayFragmented: number;
  /** Envelopes whose MAC did not verify (forged, or a key mismatch). */
  relayDroppedBadMac: number;
  /** Envelopes whose counter was seen already or is too old for the window. */
  relayDroppedReplay: number;
  /** Envelopes whose MAC tag, or sender named by a relay, has no key here. */
  relayDroppedUnknownTag: number;
  /** Envelopes to relay to no member with a key here, or back to the sender. */
  relayDroppedNotMember: number;
  /** Envelopes to relay from a sender over its byte rate. */
  relayDroppedRate: number;
  /** Envelopes to relay while this node relays for no one. */
  relayDroppedDisabled: number;
  /** Envelopes with bad flags, too short, or inside another envelope. */
  relayDroppedMalformed: number;
  /** Datagrams not sent: a relayed peer's relay is unknown, or lacks a key or endpoint, or the peer lacks a key. */
  relayDroppedNoPath: number;
  /** Relayed transport messages whose session belongs to another peer than the envelope names. */
  relayDroppedWrongSender: number;
  /** Envelopes under a key id this node does not hold: an epoch it has not heard yet, or an old envelope replayed. */
  relayDroppedStaleKey: number;
}
