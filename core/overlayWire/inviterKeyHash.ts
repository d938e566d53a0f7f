/**
 * The inviter's key as an invite code carries it. The invite-code module defines it; the join
 * protocol checks the key that answers a query against it, so both must use this one function.
 */
export { inviterKeyHash } from '../membership/inviteCode.js';
