/**
 * A control API described as types, so a wrong call does not compile (issue 11, point 6): a map
 * from method name to its params and result, and one from stream name to its params and event.
 * The server's handlers are typed against the map, and so is the client (`ControlClient<M, S>`).
 *
 * The wire stays untyped JSON and the node cannot trust it: every method also has a params
 * decoder, which checks what arrived before a handler sees it. The decoders object is keyed by
 * method exactly like the map (the compiler rejects a missing or extra one), so its keys are the
 * API's method list at run time.
 */
import { OverlayError } from '../errors.js';
import type { Handler, RequestContext, StreamHandler } from './connection.js';
import type { Params } from './protocol.js';

export interface MethodSpec {
  params: object;
  result: unknown;
}

export interface StreamSpec {
  params: object;
  event: unknown;
}

/** Works for interfaces too, which (unlike type literals) have no index signature. */
export type MethodMap<M> = { [K in keyof M]: MethodSpec };
export type StreamMap<S> = { [K in keyof S]: StreamSpec };

/** A method that takes no params: `{}` would accept anything; this accepts only `{}`. */
export type NoParams = Record<string, never>;

/** Params may be left out only when every one of them is optional (an empty object is a valid P). */
export type ParamsArg<P> = Record<never, never> extends P ? [params?: P] : [params: P];

/** What a map without types allows: any name, any params, an unknown result (tests of the transport). */
export type AnyMethods = Record<string, { params: Params; result: unknown }>;
export type AnyStreams = Record<string, { params: Params; event: unknown }>;

export type Handlers<M extends MethodMap<M>> = {
  [K in keyof M]: (params: M[K]['params'], ctx: RequestContext) => Promise<M[K]['result']>;
};

export type Streams<S extends StreamMap<S>> = {
  [K in keyof S]: (
    params: S[K]['params'],
    emit: (event: S[K]['event']) => void,
    signal: AbortSignal,
  ) => Promise<void> | void;
};

/** Checks untrusted params; throws an OverlayError (EUSAGE) that the client sees as its answer. */
export type Decoders<T extends { [K in keyof T]: { params: object } }> = {
  [K in keyof T]: (raw: Params) => T[K]['params'];
};

/**
 * The untyped table the transport serves: each handler behind its decoder. Iterates the handlers,
 * not the decoders, so a handler smuggled past the types (a cast, a spread) without a decoder is
 * refused here, at start, and the table served is the one the tests compare with the API's list.
 */
export function bindHandlers<M extends MethodMap<M>>(
  decoders: Decoders<M>,
  handlers: Handlers<M>,
): Record<string, Handler> {
  const table: Record<string, Handler> = {};
  for (const name of Object.keys(handlers) as (keyof M & string)[]) {
    const decode = decoderOf(decoders, name);
    const handle = handlers[name];
    table[name] = (raw, ctx) => handle(decode(raw), ctx);
  }
  return table;
}

export function bindStreams<S extends StreamMap<S>>(
  decoders: Decoders<S>,
  streams: Streams<S>,
): Record<string, StreamHandler> {
  const table: Record<string, StreamHandler> = {};
  for (const name of Object.keys(streams) as (keyof S & string)[]) {
    const decode = decoderOf(decoders, name);
    const stream = streams[name];
    table[name] = (raw, emit, signal) => stream(decode(raw), emit, signal);
  }
  return table;
}

function decoderOf<T extends { [K in keyof T]: { params: object } }, K extends keyof T & string>(
  decoders: Decoders<T>,
  name: K,
): Decoders<T>[K] {
  if (!Object.hasOwn(decoders, name)) throw new Error(`control method "${name}" is not in the API`);
  return decoders[name];
}

/** For methods without params: whatever arrived is ignored, as before the API had types. */
export function noParams(): NoParams {
  return {};
}

/** A string that must be there and not empty. */
export function requiredString(raw: Params, key: string): string {
  const v = raw[key];
  if (typeof v !== 'string' || v.length === 0) throw new OverlayError('EUSAGE', `${key} is required`);
  return v;
}

/** A positive whole number, or undefined when absent (null counts as absent: JSON has no undefined). */
export function optionalPositiveInt(raw: Params, key: string): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new OverlayError('EUSAGE', `${key} must be a positive whole number`);
  }
  return v;
}
