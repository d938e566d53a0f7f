/**
 * What makes a namespace a home NAT router, as iptables argument lists: the demo builds its
 * routers from these, and so do the NAT tests (test/helpers/natWorld.ts), so what the demo shows
 * is what the tests prove.
 *
 * MASQUERADE keeps a flow's source port when it can (endpoint-independent mapping); with
 * `randomFully` every destination gets a fresh random port (endpoint-dependent: no hole punching).
 * The firewall drops anything unsolicited from the internet, to the router or through it; dropped
 * before conntrack confirms them, such packets leave no state that would later make the NAT pick
 * another port for a hole being punched. With `firewall: false` the router only masquerades (a
 * host NATing for its VMs, a cloud NAT instance): an unsolicited packet becomes an unreplied
 * connection of the router's own, and a flow out that would need its pair of addresses is given
 * another port — what discovery's openers avoid (core/discovery/opening.ts).
 */
export function natRouterRules(wanIf: string, options: NatKind = {}): string[][] {
  const masquerade = [
    '-t',
    'nat',
    '-A',
    'POSTROUTING',
    '-o',
    wanIf,
    '-j',
    'MASQUERADE',
    ...(options.randomFully ? ['--random-fully'] : []),
  ];
  if (options.firewall === false) return [masquerade];
  return [
    masquerade,
    ...['INPUT', 'FORWARD'].map((chain) => [
      '-A',
      chain,
      '-i',
      wanIf,
      '-m',
      'conntrack',
      '--ctstate',
      'NEW,INVALID',
      '-j',
      'DROP',
    ]),
  ];
}

/** The kind of NAT a router is (natRouterRules). */
export interface NatKind {
  /** A fresh random port per destination (endpoint-dependent mapping); else the flow's port when free. */
  readonly randomFully?: boolean;
  /** false: no filter rules at all, plain MASQUERADE. */
  readonly firewall?: boolean;
}
