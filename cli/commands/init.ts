import { zoneOf } from '../../core/dns/zone.js';
import { OverlayError } from '../../core/errors.js';
import { IdentityStore } from '../../core/identity/identityStore.js';
import { formatSubnet, type IPv4Subnet, parseIPv4Subnet } from '../../core/membership/addressing.js';
import { createNetwork } from '../../core/membership/issue.js';
import { DEFAULT_NETWORK_NAME } from '../../core/membership/network.js';
import { defaultMemberName } from '../../core/node/defaultName.js';
import { parseEndpointFlag, parseNameFlag, parseNetworkNameFlag, parsePort } from '../../core/node/flags.js';
import { pickSubnet } from '../../core/node/networkResources.js';
import { wantedNetwork } from '../../core/node/networks.js';
import {
  assertFreeRange,
  listenPortFor,
  type NewNetworkPlan,
  placeNetwork,
  planNewNetwork,
} from '../../core/node/newNetwork.js';
import { DEFAULT_LISTEN_PORT, NodeState } from '../../core/node/nodeState.js';
import { resolveStateDir } from '../../core/store/stateDir.js';
import { secureRandom } from '../../core/wireguard/primitives.js';
import { type Command, type CommandContext, flagBool, flagString } from '../command.js';
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
      description:
        'IPv4 overlay subnet inside 100.64.0.0/10 (default: a random /16 no other network or route of this host uses)',
    },
    listen: {
      type: 'string',
      arg: 'PORT',
      description: `UDP port to listen on (default ${DEFAULT_LISTEN_PORT}, or the next one free for a second network)`,
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
    const base = resolveStateDir(flagString(ctx, 'state-dir'), ctx.env);
    const given = flagString(ctx, 'name');
    const flagName = given === undefined ? undefined : parseNameFlag(given); // before the identity is made
    const networkName = networkNameOf(ctx);
    const givenListen = flagString(ctx, 'listen');
    const givenPort = givenListen === undefined ? undefined : parsePort(givenListen, DEFAULT_LISTEN_PORT);
    const announce = ((ctx.flags['endpoint'] as string[] | undefined) ?? []).map(parseEndpointFlag);
    // Before anything is written: its name, range and port are not another network's of this host.
    const plan = planNewNetwork(base);
    const subnet = subnetOf(ctx, plan);
    const listenPort = listenPortFor(plan, givenPort);
    const placed = placeNetwork(plan, { name: networkName, ipv4Subnet: subnet });
    const stateDir = placed.stateDir;
    const identityStore = IdentityStore.openOrCreate(stateDir);
    const identity = identityStore.load();
    const name = flagName ?? identity.name ?? defaultMemberName();
    if (NodeState.open(stateDir)) {
      throw new OverlayError('EUSAGE', `this node already belongs to a network (${stateDir})`, {
        hint: 'leave it first (overlay leave), or name another network: overlay init --network-name NAME',
      });
    }
    const created = createNetwork({
      name,
      networkName,
      subnet: formatSubnet(subnet),
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
        ...(placed.interface !== undefined && { interface: placed.interface }),
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
      ...(placed.interface !== undefined && { interface: placed.interface }),
      stateDir,
    };
    const paste = pasteContextOf(ctx);
    // A host's second network is named in every command after this one.
    const which = plan.first ? '' : ` --network ${networkName}`;
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
        `  ${pasteable(`sudo overlay up${which}`, paste)}        bring this node up`,
        `  ${pasteable(`overlay invite${which}`, paste)}         make a code for someone to join (the node must be up)`,
        '',
      ].join('\n'),
    );
  },
};

/** --network-name, else --network (or $OVERLAY_NETWORK), else the default; the two must agree. */
function networkNameOf(ctx: CommandContext): string {
  const named = flagString(ctx, 'network-name');
  const byName = named === undefined ? undefined : parseNetworkNameFlag(named);
  const wanted = wantedNetwork(flagString(ctx, 'network'), ctx.env);
  if (byName !== undefined && wanted !== undefined && byName !== wanted) {
    throw new OverlayError('EUSAGE', `--network-name ${byName} and --network ${wanted} name two networks`, {
      hint: 'give one of them',
    });
  }
  return byName ?? wanted ?? DEFAULT_NETWORK_NAME;
}

/** --subnet when it is free on this host, else a free random /16. */
function subnetOf(ctx: CommandContext, plan: NewNetworkPlan): IPv4Subnet {
  const given = flagString(ctx, 'subnet');
  if (given === undefined) return pickSubnet(plan.others, plan.facts.routes, secureRandom);
  const subnet = parseIPv4Subnet(given);
  assertFreeRange(
    plan,
    subnet,
    () => 'choose another --subnet, or leave it out and overlay picks a free one',
  );
  return subnet;
}
