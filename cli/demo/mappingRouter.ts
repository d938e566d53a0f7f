/**
 * What makes a namespace a NAT router that offers port mapping: an nft ruleset with the chains
 * Debian's miniupnpd-nftables fills in, and that daemon's config (shared/recipes/miniupnpd-in-a-
 * namespace.md). The demo builds its mapping routers from these, and so do the port-mapping tests
 * (test/helpers/mappingWorld.ts), so what the demo shows is what the tests prove.
 *
 * miniupnpd refuses to map when its WAN address is in a reserved range, and every range of the
 * network rules is one: a world using these routers gives their WAN side an address outside them,
 * which is allowed only when no namespace of that world has a link to the host's namespace
 * (isolation.ts checks that before anything starts).
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/**
 * A system program on PATH, node_modules/.bin left out (npm puts an unrelated `nft` there, first on
 * PATH under npm and npx); undefined when it is not installed. install.sh installs nftables and
 * miniupnpd-nftables.
 */
export function systemTool(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (!dir || dir.includes('node_modules')) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The routers' ruleset; `fully-random` makes the NAT pick a port per destination. */
export function nftRuleset(randomFully: boolean): string {
  return `table inet upnp {
  chain miniupnpd {
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
  chain filter_forward {
    type filter hook forward priority 0; policy accept;
    jump miniupnpd
  }
  chain nat_pre {
    type nat hook prerouting priority dstnat;
    jump prerouting_miniupnpd
  }
  chain nat_post {
    type nat hook postrouting priority srcnat;
    jump postrouting_miniupnpd
    oifname "wan" masquerade${randomFully ? ' fully-random' : ''}
  }
}
`;
}

/** miniupnpd's config for a router whose WAN interface is "wan" and LAN bridge "lan" (`lanNet`.0/24). */
export function miniupnpdConfig(lanNet: string, leaseFile: string, upnp: boolean, natpmp: boolean): string {
  return [
    'ext_ifname=wan',
    'listening_ip=lan',
    'ipv6_disable=yes',
    `enable_upnp=${upnp ? 'yes' : 'no'}`,
    `enable_natpmp=${natpmp ? 'yes' : 'no'}`,
    'secure_mode=yes',
    'http_port=0',
    'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
    'upnp_table_name=upnp',
    'upnp_nat_table_name=upnp',
    `lease_file=${leaseFile}`,
    `allow 1024-65535 ${lanNet}.0/24 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}
