/** The live status view: what `overlay status` mounts with Ink on a terminal. */
export type { CandidateTried, PeerEvidence, SelfEvidence, ViewPeer, ViewStatus } from './evidence.js';
export { StatusApp, type StatusAppProps } from './StatusApp.js';
export type { InviteResult, PingResult, SourceState, StatusSource, ViewActions } from './source.js';
