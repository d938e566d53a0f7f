/**
 * What makes a namespace a home NAT router, as iptables argument lists: the demo builds its
 * routers from these, and so do the NAT tests (test/helpers/natWorld.ts), so what the demo shows
 * is what the tests prove.
 *
 * MASQUERADE keeps a flow's source port when it can (endpoint-independent mapping); with
 * `randomFully` every destination gets a fresh random port (endpoint-dependent: no hole punching).
 * The firewall drops anything unsolicited from the internet, to the router or through it; dropped
 * before conntrack confirms them, such packets leave no state that would later make the NAT pick
 * another port for a hole being punched (as a router without a firewall would).
 */
export function natRouterRules(
  wanIf: string,
  options: { randomFully?: boolean; firewall?: boolean } = {},
): string[][] {
  const firewall = options.firewall ?? true;
  return [
    [
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-o',
      wanIf,
      '-j',
      'MASQUERADE',
      ...(options.randomFully ? ['--random-fully'] : []),
    ],
    // `firewall: false`: plain MASQUERADE, no filter rules (issue 13 point 1's router).
    ...(firewall ? ['INPUT', 'FORWARD'] : []).map((chain) => [
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
