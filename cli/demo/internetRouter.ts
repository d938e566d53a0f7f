/**
 * "The internet" of a world of namespaces as a router, not a switch: every public host (a member or
 * a NAT router's WAN side) on a link of its own to it, so between any two public addresses lies one
 * hop, as on the real internet. Discovery's openers depend on that (core/discovery/opening.ts): sent
 * with a TTL of 2, they pass the sender's NAT and die at this router, before the far NAT; across a
 * switch they would reach the far NAT and leave the very state they are meant to avoid on a NAT
 * without a firewall. The demo builds its first internet from these, and so do the NAT tests
 * (test/helpers/natWorld.ts), so what the demo shows is what the tests prove.
 */

/**
 * The router's own address on every link (198.18.0.0/15, like the LANs, but no LAN's): each public
 * host's next hop. Nothing comes from it but ICMP (a TTL that ran out, say).
 */
export const ROUTER_LINK = '198.19.255.1';

/**
 * `ip` argument lists (for `ip -n NS ...`) that make veth ends `hostIf` (in the public host) and
 * `routerIf` (in the internet's router) a link for public address `address`: the address alone (/32)
 * and a default route through the router on the host's end, the router's address and a route to
 * `address` down this link on its end. Run each side's in order; the router forwards (ip_forward=1).
 */
export function publicLink(
  address: string,
  hostIf: string,
  routerIf: string,
): { host: string[][]; router: string[][] } {
  return {
    host: [
      ['addr', 'add', `${address}/32`, 'dev', hostIf],
      ['link', 'set', hostIf, 'up'],
      ['route', 'add', ROUTER_LINK, 'dev', hostIf],
      ['route', 'add', 'default', 'via', ROUTER_LINK, 'dev', hostIf],
    ],
    router: [
      ['addr', 'add', `${ROUTER_LINK}/32`, 'dev', routerIf],
      ['link', 'set', routerIf, 'up'],
      ['route', 'add', `${address}/32`, 'dev', routerIf],
    ],
  };
}
