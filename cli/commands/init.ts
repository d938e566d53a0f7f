import { zoneOf } from '../../core/dns/zone.js';
import { OverlayError } from '../../core/errors.js';
import { IdentityStore } from '../../core/identity/identityStore.js';
import { formatSubnet } from '../../core/membership/addressing.js';
import { createNetwork } from '../../core/membership/issue.js';
import { DEFAULT_NETWORK_NAME } from '../../core/membership/network.js';
import { defaultMemberName } from '../../core/node/defaultName.js';
import { parseEndpointFlag, parseNameFlag, parseNetworkNameFlag, parsePort } from '../../core/node/flags.js';
import { DEFAULT_LISTEN_PORT, NodeState } from '../../core/node/nodeState.js';
import { resolveStateDir } from '../../core/store/stateDir.js';
import { secureRandom } from '../../core/wireguard/primitives.js';
import { type Command, flagBool, flagString } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { pasteable, pasteContextOf } from '../pasteable.js';

export const init: Command = {
  name: 'init',
  summary: 'create a new network with this node as its first member and admin',
  usage: '[--name NAME] [--network-name NAME] [--subnet CIDR] [--listen PORT] [--endpoint HOST:PORT ...]',
  flags: {
    name: {
      type: 'string',
      arg: 'NAME',
      description: "this node's name in the network (default: the hostname)",
    },
    'network-name': {
      type: 'string',
      arg: 'NAME',
      description: `the network's name: members are MEMBER.NAME.internal (default: ${DEFAULT_NETWORK_NAME})`,
    },
    subnet: {
      type: 'string',
      arg: 'CIDR',
      description: 'IPv4 overlay subnet inside 100.64.0.0/10 (default: a random /16)',
    },
    listen: {
      type: 'string',
      arg: 'PORT',
      description: `UDP port to listen on (default ${DEFAULT_LISTEN_PORT})`,
    },
    endpoint: {
      type: 'string',
      multiple: true,
      arg: 'HOST:PORT',
      description: 'an IP:PORT peers can reach this node at (a public IP, a port forward); repeatable',
    },
  },
  positionals: { min: 0, max: 0 },
  changesNode: true,
  run(ctx) {
    const stateDir = resolveStateDir(flagString(ctx, 'state-dir'), ctx.env);
    const given = flagString(ctx, 'name');
    const flagName = given === undefined ? undefined : parseNameFlag(given); // before the identity is made
    const givenNetworkName = flagString(ctx, 'network-name');
    const networkName =
      givenNetworkName === undefined ? DEFAULT_NETWORK_NAME : parseNetworkNameFlag(givenNetworkName);
    const identityStore = IdentityStore.openOrCreate(stateDir);
    const identity = identityStore.load();
    const name = flagName ?? identity.name ?? defaultMemberName();
    const listenPort = parsePort(flagString(ctx, 'listen'), DEFAULT_LISTEN_PORT);
    const announce = ((ctx.flags['endpoint'] as string[] | undefined) ?? []).map(parseEndpointFlag);
    if (NodeState.open(stateDir)) {
      throw new OverlayError('EUSAGE', `this node already belongs to a network (${stateDir})`, {
        hint: 'leave it first (overlay leave), or use another --state-dir for a second network',
      });
    }
    const created = createNetwork({
      name,
      networkName,
      subnet: flagString(ctx, 'subnet'),
      member: {
        wireguardKey: identity.keys.wireguard.publicKey,
        signingKey: identity.keys.signing.publicKey,
      },
      random: secureRandom,
      now: Date.now(),
    });
    NodeState.create(
      stateDir,
      {
        network: created.network,
        networkSecretKey: created.networkKeyPair.secretKey,
        listenPort,
        announce,
        relay: true,
        stun: [],
        dns: true,
      },
      created.roster,
    );
    identityStore.setName(name);
    const cert = created.founder.certificate;
    const result = {
      name,
      network: networkName,
      zone: zoneOf(networkName),
      ipv4: cert.ipv4,
      ipv6: cert.ipv6,
      ipv4Subnet: formatSubnet(created.network.ipv4Subnet),
      ipv6Subnet: formatSubnet(created.network.ipv6Subnet),
      listenPort,
      stateDir,
    };
    const paste = pasteContextOf(ctx);
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(jsonLine(result));
      return;
    }
    ctx.stdout.write(
      [
        `Created the network "${networkName}": ${result.ipv4Subnet} and ${result.ipv6Subnet}.`,
        `This node is "${name}" (${name}.${result.zone}), ${cert.ipv4} and ${cert.ipv6}, the network's first admin.`,
        '',
        'Next:',
        `  ${pasteable('sudo overlay up', paste)}        bring this node up`,
        `  ${pasteable('overlay invite', paste)}         make a code for someone to join (the node must be up)`,
        '',
      ].join('\n'),
    );
  },
};
