export { type ConnectOptions, ControlClient } from './client.js';
export {
  alreadyRunningError,
  ControlError,
  type ControlErrorCode,
  codeOf,
  isControlError,
  notRunningError,
} from './controlError.js';
export { CONTROL_SOCKET_NAME, controlSocketPath, MAX_REQUEST_BYTES, type Params } from './protocol.js';
export {
  ControlServer,
  type ControlServerOptions,
  type Handler,
  type RequestContext,
  type StreamHandler,
} from './server.js';
