// What every stage knows of one call: who made it (Caller), its cancellation, which client owns a message (owner marks, sessions), and the state a 2026 call carries sealed between rounds.
export {
  type AuditNote,
  type Caller,
  capabilityFor,
  declares,
  isCancelled,
  type LegacySession,
  type ListKind,
  type Message,
  type ModernNotifier,
  type Params,
  type Replay,
  standInSession,
  taskOwner,
  upstreamParams,
} from './caller.js'
export { Cancellation, cancelledBy, type ForwardOptions, onCancel } from './cancellation.js'
export {
  bindCaller,
  markOwner,
  needsOwnConnection,
  OWNER_MARK,
  ownerMark,
  ownerOf,
  releaseOwner,
  sessionOf,
  setSessionLevel,
  soleCaller,
  takeOwner,
  wantsLog,
} from './isolation.js'
export { createStateSealer, type GatewayState, requestDigest, type StateSealer } from './sealed-state.js'
