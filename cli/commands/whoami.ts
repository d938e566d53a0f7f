import { encodeKey } from '../../core/base/keys.js';
import { isControlError } from '../../core/control/index.js';
import { OverlayError } from '../../core/errors.js';
import { IdentityStore } from '../../core/identity/identityStore.js';
import { formatSubnet } from '../../core/membership/addressing.js';
import { NodeState } from '../../core/node/nodeState.js';
import { type Command, flagBool } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { onlyRootMayChange } from '../needsRoot.js';
import { connectNode, type NodeClient, stateDirOf } from '../nodeClient.js';

interface Whoami {
  name: string | null;
  addresses: string[];
  network: string | null;
  publicKey: string;
  signingKey: string;
  stateDir: string;
}

/** From the state directory; the first use makes the identity. */
function fromDisk(stateDir: string): Whoami {
  const identity = IdentityStore.openOrCreate(stateDir).load();
  const membership = membershipOf(stateDir, identity.keys.wireguard.publicKey);
  return {
    name: identity.name,
    addresses: membership?.addresses ?? [],
    network: membership?.network ?? null,
    publicKey: encodeKey(identity.keys.wireguard.publicKey),
    signingKey: encodeKey(identity.keys.signing.publicKey),
    stateDir,
  };
}

/** A user asking about root's node: its read-only socket answers while it runs. */
async function fromRootsNode(stateDir: string): Promise<Whoami> {
  let client: NodeClient;
  try {
    client = await connectNode(stateDir, 5000);
  } catch (e) {
    if (!isControlError(e, 'ENOTRUNNING')) throw e;
    throw new OverlayError('EPERM', `whoami needs root to read the node's identity in ${stateDir}`, {
      hint: 'run: sudo overlay whoami',
      cause: e,
    });
  }
  try {
    return { ...(await client.call('whoami')), stateDir };
  } finally {
    client.close();
  }
}

/** This node's overlay addresses and network, from the roster on disk (no running node needed). */
function membershipOf(
  stateDir: string,
  wireguardKey: Uint8Array,
): { addresses: string[]; network: string } | undefined {
  const state = NodeState.open(stateDir);
  if (!state) return undefined;
  const member = state.loadRoster().memberByWireguardKey(wireguardKey, Date.now());
  const network = formatSubnet(state.settings().network.ipv4Subnet);
  return { addresses: member ? [member.certificate.ipv4, member.certificate.ipv6] : [], network };
}

export const whoami: Command = {
  name: 'whoami',
  summary: "show this node's name, overlay address and WireGuard public key (made on first use)",
  usage: '[--json] [--state-dir DIR]',
  flags: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const stateDir = stateDirOf(ctx);
    const out = onlyRootMayChange(stateDir) ? await fromRootsNode(stateDir) : fromDisk(stateDir);
    const membership = out.network === null ? undefined : out;
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(jsonLine(out));
      return;
    }
    ctx.stdout.write(
      [
        `name:        ${out.name ?? '(none yet: overlay init --name NAME, or join a network)'}`,
        `address:     ${out.addresses.join('  ') || (membership === undefined ? '(not in a network yet: overlay init, or overlay join CODE)' : '(this node is no longer a member: its certificate expired or was revoked)')}`,
        `public key:  ${out.publicKey}`,
        `signing key: ${out.signingKey}`,
        `state:       ${out.stateDir}`,
        '',
      ].join('\n'),
    );
  },
};
