/**
 * The view's copy of the node: the latest status, the connection state, and traffic rates. Also
 * ticks once a second so ages and uptime move and an idle link's rate falls to zero; Ink writes
 * to the terminal only when the drawn text changes, so an idle tick costs almost nothing.
 */
import { useEffect, useRef, useState } from 'react';
import type { NodeStatus } from '../../core/node/status.js';
import type { ViewStatus } from './evidence.js';
import type { SourceState, StatusSource } from './source.js';
import { emptyTraffic, idle, observe, type TrafficState } from './traffic.js';

export interface Feed {
  state: SourceState;
  detail: string | undefined;
  status: ViewStatus | null;
  /** Clock reading when `status` arrived. */
  receivedAt: number;
  traffic: TrafficState;
}

const initialFeed: Feed = {
  state: 'connecting',
  detail: undefined,
  status: null,
  receivedAt: 0,
  traffic: emptyTraffic,
};

export function useStatusFeed(source: StatusSource, now: () => number, tickMs: number): Feed {
  const [feed, setFeed] = useState<Feed>(initialFeed);
  const [, setTick] = useState(0);
  // The clock may be a new function on every render; reading it through a ref keeps the subscription.
  const clock = useRef(now);
  clock.current = now;
  // A status draws the view with fresh ages anyway; a tick right after it would redraw the same text.
  const lastStatusAt = useRef<number | null>(null);

  useEffect(
    () =>
      source.subscribe(
        (s: NodeStatus) => {
          const at = clock.current();
          lastStatusAt.current = at;
          // A status is proof the node runs, whatever state was reported before it.
          setFeed((f) => ({
            state: 'running',
            detail: undefined,
            status: s,
            receivedAt: at,
            traffic: observe(f.traffic, s, at),
          }));
        },
        (state, detail) => setFeed((f) => ({ ...f, state, detail })),
      ),
    [source],
  );

  useEffect(() => {
    if (tickMs <= 0) return;
    const timer = setInterval(() => {
      const at = clock.current();
      const since = lastStatusAt.current === null ? Number.POSITIVE_INFINITY : at - lastStatusAt.current;
      if (since >= tickMs / 2) setTick((n) => n + 1);
      setFeed((f) => {
        const traffic = idle(f.traffic, at);
        return traffic === f.traffic ? f : { ...f, traffic };
      });
    }, tickMs);
    return () => clearInterval(timer);
  }, [tickMs]);

  return feed;
}
