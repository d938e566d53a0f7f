export {
  NodeStartError,
  type StartDetachedOptions,
  type StartedNode,
  type StartProgress,
  startDetached,
} from './detached.js';
export {
  type ForegroundNode,
  type ForegroundOptions,
  type NodeRuntime,
  runForeground,
  type ShutdownReason,
} from './foreground.js';
export { LOG_FILE_NAME, logFilePath } from './logFile.js';
export {
  claimPidFile,
  isProcessAlive,
  livePidFromFile,
  PID_FILE_NAME,
  pidFilePath,
  readPidFile,
  removePidFile,
} from './pidFile.js';
export { isRunning } from './running.js';
export { type StopOptions, type StopResult, stopNode } from './stop.js';
