/**
 * Discovery (issue 5): candidates, hole punching, path choice and relays through members, as pure
 * state machines. The node feeds `Discovery` the sealed discovery messages it opened and the time,
 * and carries out what comes back.
 */
export { type CandidateKind, CandidateSet, rankPeerCandidates } from './candidateSet.js';
export * from './constants.js';
export { Discovery, type DiscoveryOptions, type DiscoveryPeer } from './discovery.js';
export { addressScope, behindNat, isCandidate, parseCandidate, tooEarlyFor } from './endpointClass.js';
export { FILTER_KNOCK_WAIT_MS, type FilterCounters, type Filtering, FilterTest } from './filterTest.js';
export * from './messages.js';
export {
  type MappingProtocol,
  type NatBehaviour,
  type NatClassification,
  NatInference,
  type NatReport,
} from './natBehaviour.js';
export * from './pathTypes.js';
export { PeerPath, type Probe } from './peerPath.js';
export { ProbeBudget, type ProbeCounters, TokenBucket } from './probeBudget.js';
