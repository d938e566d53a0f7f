/**
 * The joiner's proof that the join request is its own. The seal already proves the WireGuard key
 * (only its holder can seal as it), but the signing key in the request becomes the certificate's
 * subject, and nothing else proves it: without this signature anyone with an invite could name an
 * existing member's public signing key and have the inviter issue a certificate for it.
 *
 * The joiner signs with that signing key, under its own context string (no signature over a join
 * request can ever pass as a certificate, revocation or endpoint record, core/membership/binary.ts
 * signedMessage), over everything the request asks for:
 *
 *   inviter WireGuard key 32 | joiner WireGuard key 32 | the request's signed fields, as the
 *   request carries them (innerMessage.ts writeJoinFields: request id, invite id, name, signing
 *   key, listen port, endpoints)
 *
 * The inviter's key binds the request to the one node it was meant for: the joiner does not know
 * the network key before it joins, but it has checked the inviter's key against the invite code's
 * inviterKeyHash before sending anything, so a request cannot be replayed to another inviter or
 * network. The joiner's WireGuard key binds it to the seal: the inviter verifies against the key
 * that sealed the datagram, so the signed request cannot travel under another WireGuard key. The
 * invite secret is not signed: it is a bearer token checked on its own, and leaving it out keeps
 * it out of everything but the sealed request.
 */
import { signedMessage } from '../membership/binary.js';
import { signDetached, verifyDetached } from '../membership/ed25519.js';
import { ByteWriter } from './byteCodec.js';
import { type JoinRequest, type SignedJoinFields, writeJoinFields } from './innerMessage.js';

const CONTEXT = 'overlay join request v1';

/** The two WireGuard keys of the exchange: who the request is for, and who sealed it. */
export interface JoinParties {
  readonly inviterPublicKey: Uint8Array;
  readonly joinerPublicKey: Uint8Array;
}

function signedBytes(fields: SignedJoinFields, parties: JoinParties): Uint8Array {
  const w = new ByteWriter(256).bytes(parties.inviterPublicKey).bytes(parties.joinerPublicKey);
  return signedMessage(CONTEXT, writeJoinFields(w, fields).finish());
}

/** `signingSecretKey` is the 64-byte Ed25519 secret key whose public half is `signingPublicKey`. */
export function signJoinRequest(
  fields: SignedJoinFields,
  parties: JoinParties,
  signingSecretKey: Uint8Array,
): Uint8Array {
  return signDetached(signedBytes(fields, parties), signingSecretKey);
}

/** True iff the request's own signing key signed exactly these fields for these two parties. */
export function verifyJoinRequest(request: JoinRequest, parties: JoinParties): boolean {
  return verifyDetached(signedBytes(request, parties), request.signature, request.signingPublicKey);
}
