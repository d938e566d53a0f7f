/**
 * STUN (RFC 8489, the Binding method only): the codec, and a client that learns our reflexive
 * address from the servers the user lists (--stun) and keeps the NAT mapping to them open.
 */
export * from './constants.js';
export {
  type BindingRequest,
  type BindingResponse,
  decodeBindingRequest,
  decodeBindingResponse,
  encodeBindingRequest,
  encodeBindingSuccess,
  isStunMessage,
} from './message.js';
export {
  StunClient,
  type StunClientOptions,
  type StunEvent,
  type StunIgnored,
  type StunOutput,
  type StunSend,
} from './stunClient.js';
