/**
 * A machine on the simulated internet, as a node sees it (core/tunnel/io.ts NodeIo): its TUN
 * device is a MemoryTun, its data path a MemoryDataPath bound at the machine's address, its one
 * network interface has the machine's address, and `overlay join` gets a socket on the same net.
 */
import type { OpenJoinSocket } from '../../core/node/join.js';
import type { NodeIo } from '../../core/tunnel/io.js';
import type { SimHost } from '../discovery/netSim.js';
import { MemoryDataPath, type SimMachine } from './memoryDataPath.js';
import { MemoryTun } from './memoryTun.js';

export interface MemoryIo extends NodeIo {
  readonly machine: SimMachine;
  /** The TUN devices and data paths opened, latest last (a node that starts again opens new ones). */
  readonly tuns: MemoryTun[];
  readonly dataPaths: MemoryDataPath[];
}

export function memoryIo(machine: SimMachine): MemoryIo {
  const io: MemoryIo = {
    machine,
    tuns: [],
    dataPaths: [],
    openTun: (name) => {
      const tun = new MemoryTun(name);
      io.tuns.push(tun);
      return tun;
    },
    openDataPath: (tun, options, onEvents) => {
      const dp = new MemoryDataPath(tun, options, onEvents, machine);
      io.dataPaths.push(dp);
      return dp;
    },
    networkInterfaces: () => ({
      eth0: [
        {
          address: machine.ip,
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '02:00:00:00:00:01',
          internal: false,
          cidr: `${machine.ip}/24`,
        },
      ],
    }),
  };
  return io;
}

let joinSockets = 0;

/** A joiner's socket on `machine`, at a port of its own, as `overlay join` opens one. */
export function memoryJoinSocket(machine: SimMachine): OpenJoinSocket {
  return (_ipv6, on) => {
    const { net } = machine;
    let port = 30_000 + (joinSockets++ % 10_000);
    while (net.hostAt(machine.ip, port, machine.nat)) port++;
    const host: SimHost = net.addHost(`${machine.name}:join${port}`, machine.ip, port, machine.nat);
    let open = true;
    host.receive = (bytes, from) => {
      if (open) on.message(bytes, from);
    };
    setImmediate(() => open && on.ready());
    return {
      send: (bytes, to) => {
        if (open) net.send(host, to, bytes);
      },
      close: () => {
        open = false;
        net.removeHost(host);
      },
    };
  };
}
