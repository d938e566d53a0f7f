/**
 * The node's kernel side coming up, and what `up` reports when it cannot: the overlay interface
 * (openInterface) and the tunnel on its data path (startTunnel), each failure mapped to its own code.
 */
import { OverlayError } from '../errors.js';
import type { Member } from '../membership/roster.js';
import type { NodeIo, TunDevice } from '../tunnel/io.js';
import { TUN_MTU } from '../tunnel/mtu.js';
import { Tunnel } from '../tunnel/tunnel.js';
import type { TunnelOptions } from '../tunnel/types.js';
import type { NodeSettings } from './nodeState.js';
import { hostAddresses } from './peerSync.js';

/**
 * `self`'s tunnel on `options.tun`; when its data path cannot start, the device is closed and `up`
 * told why. Its data path delivers packets to `self`'s addresses only: a member can reach this
 * host's addresses in its own network and no others (issue 14: not another network's).
 */
export function startTunnel(self: Member, options: TunnelOptions & { listenPort: number }): Tunnel {
  try {
    return new Tunnel({ ...options, addresses: hostAddresses(self) });
  } catch (e) {
    options.tun.close();
    throw dataPathError(e, options.listenPort);
  }
}

/** Why the data path did not start, as the code `up` reports: its port taken is a case of its own. */
function dataPathError(e: unknown, port: number): OverlayError {
  const err = e as { code?: string; message?: string };
  if (err.code === 'EADDRINUSE') {
    return new OverlayError('EPORT_TAKEN', `UDP port ${port} is taken by another program`, {
      hint: `find it with: ss -ulpn 'sport = :${port}'; or use another: overlay up --listen ${port === 65535 ? port - 1 : port + 1}`,
      cause: e,
    });
  }
  return new OverlayError(
    'ETUN',
    `cannot start the data path on UDP port ${port}: ${err.message ?? String(e)}`,
    {
      cause: e,
    },
  );
}

/**
 * The overlay interface: the one the settings name (a host's second network remembers one) or
 * kernel-named ovlN, MTU, up, this member's addresses.
 */
export function openInterface(
  io: NodeIo,
  self: Member,
  settings: Pick<NodeSettings, 'network' | 'interface'>,
): TunDevice {
  const ipv4Prefix = settings.network.ipv4Subnet.prefix;
  let tun: TunDevice;
  try {
    tun = io.openTun(settings.interface ?? 'ovl%d');
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'EPERM') {
      throw new OverlayError('EPERM', 'creating the overlay interface needs root (or CAP_NET_ADMIN)', {
        hint: 'run with sudo',
        cause: e,
      });
    }
    if (err.code === 'ENOTUN') {
      throw new OverlayError('ENOTUN', 'this system has no /dev/net/tun', {
        hint: 'load the tun module (modprobe tun), or give the container the device',
        cause: e,
      });
    }
    if (err.code === 'EBUSY') {
      throw new OverlayError(
        'EBUSY',
        `cannot create the overlay interface: its name is taken (${err.message})`,
        {
          hint: 'remove the link that holds the name (ip link), or stop the program using it',
          cause: e,
        },
      );
    }
    throw new OverlayError('ETUN', `cannot create the overlay interface: ${err.message}`, { cause: e });
  }
  try {
    tun.setMtu(TUN_MTU);
    tun.up();
    // The subnet's prefix gives the kernel an on-link route for the whole overlay through ovlN.
    tun.addAddress(`${self.certificate.ipv4}/${ipv4Prefix}`);
    tun.addAddress(`${self.certificate.ipv6}/64`);
  } catch (e) {
    tun.close();
    throw new OverlayError('ETUN', `cannot configure ${tun.name}: ${(e as Error).message}`, { cause: e });
  }
  return tun;
}
