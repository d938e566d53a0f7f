/**
 * Port mapping's protocol constants under their specs' names, apart from our tuning knobs below.
 * NAT-PMP: RFC 6886. PCP: RFC 6887. UPnP IGD: UPnP Device Architecture 1.1 and the WANIPConnection
 * service (UPnP Forum, IGD v1/v2).
 */

/** RFC 6886 §3 and RFC 6887 §19.1: the server (router) port both protocols share. */
export const NAT_PMP_PCP_SERVER_PORT = 5351;
/** RFC 6887 §8.1 / RFC 6886 §3.2.1: where clients hear a server's unsolicited announcements. */
export const PCP_CLIENT_PORT = 5350;
export const PCP_ANNOUNCE_GROUP = '224.0.0.1';

/** RFC 6886 §3: version 0; opcodes; a response sets the high bit (128 + op). */
export const NAT_PMP_VERSION = 0;
export const NAT_PMP_OP_EXTERNAL_ADDRESS = 0;
export const NAT_PMP_OP_MAP_UDP = 1;
/** RFC 6887 §7: version 2; MAP and ANNOUNCE opcodes; R bit (0x80) marks a response. */
export const PCP_VERSION = 2;
export const PCP_OP_ANNOUNCE = 0;
export const PCP_OP_MAP = 1;
/** IANA protocol number for UDP, as PCP's MAP carries it (RFC 6887 §11.1). */
export const IPPROTO_UDP = 17;

/** SSDP (UDA 1.1 §1.3.2): the multicast group and port, the search target of an IGD. */
export const SSDP_GROUP = '239.255.255.250';
export const SSDP_PORT = 1900;
export const IGD_SEARCH_TARGET = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
/** The services that can map a port, most capable first. */
export const WAN_SERVICE_TYPES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

// --- Tuning knobs (ours, not the specs') ---------------------------------------------------------

/** The lease asked for: two hours, as the RFCs' examples; renewed at half (RFC 6886 §3.3). */
export const REQUESTED_LIFETIME_S = 7200;
/** RFC 6886 §3.1 retransmits at 250 ms doubling; we give up after this many tries (3.75 s) per attempt. */
export const REQUEST_FIRST_TIMEOUT_MS = 250;
export const REQUEST_TRIES = 4;
/** A lease shorter than this is renewed no faster than this (a router answering lifetime 1 is not obeyed). */
export const MIN_RENEW_MS = 30_000;
/**
 * A router's announcement with an epoch that looks kept still brings one renewal, at most this often:
 * a router that restarts within seconds of mapping is within the epoch check's slack (epoch.ts).
 */
export const ANNOUNCE_RENEW_GAP_MS = 10_000;
/** After a failed attempt, wait this long before asking again. */
export const RETRY_AFTER_FAILURE_MS = 60_000;
/** Largest datagram either UDP protocol sends: PCP's 1100-octet cap (RFC 6887 §7). */
export const MAX_PCP_DATAGRAM = 1100;
/** Bounds on what a router's HTTP server may send us (device description, SOAP answers). */
export const MAX_HTTP_BODY = 64 * 1024;
export const HTTP_TIMEOUT_MS = 3000;
/** How long an SSDP search waits for an answer (UDA: MX seconds, we ask MX 1). */
export const SSDP_WAIT_MS = 1500;
/** A description or SOAP answer from an address other than the gateway is never fetched. */
export const UPNP_MAX_LOCATION_LENGTH = 512;
