export {
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
export { LOCK_FILE_NAME, lockFilePath, NodeLock, nodeLockState } from './nodeLock.js';
export { isProcessAlive, PID_FILE_NAME, pidFilePath, readPidFile, removePidFile } from './pidFile.js';
export { isRunning } from './running.js';
export { START_REPORT_FD_ENV, type StartReporter, startReporter } from './startReport.js';
export { type StopOptions, type StopResult, stopNode } from './stop.js';
