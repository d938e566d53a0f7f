/**
 * `overlay status` on a terminal: a live view of this node and every member, answering "can I
 * reach X, how, and how well". Data comes from an injected StatusSource and actions from
 * ViewActions, so the view never knows about sockets and tests drive it with recorded statuses.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { detailLines, type PingView, pingText } from './detailLines.js';
import { matchesFilter } from './filter.js';
import { footerLines } from './footer.js';
import { wrapText } from './format.js';
import { headerLines } from './headerLines.js';
import { InvitePanel, type InviteView } from './InvitePanel.js';
import { clipLines, Lines } from './Lines.js';
import { MemberTableView } from './MemberTableView.js';
import { memberTable } from './memberTable.js';
import { NotRunning } from './NotRunning.js';
import type { StatusSource, ViewActions } from './source.js';
import { useStatusFeed } from './useStatusFeed.js';
import { initialViewState, onKey, resolveSelected, type ViewState } from './viewState.js';

export interface StatusAppProps {
  source: StatusSource;
  actions: ViewActions;
  /** False under NO_COLOR (or when the terminal has none): plain text, meaning carried by markers and words. */
  color: boolean;
  /** Terminal width and height; default to the output stream's, following resizes. */
  columns?: number;
  rows?: number;
  /** Milliseconds since the epoch; tests pass a fixed clock. */
  now?: () => number;
  /** How often ages, uptime and idle rates refresh; 0 turns the tick off. */
  tickMs?: number;
  /** Called when the user quits (q or Ctrl-C), before Ink unmounts the view. */
  onExit?: () => void;
}

const FALLBACK_COLUMNS = 80;
const FALLBACK_ROWS = 24;
/** Border and padding of a panel: one column each side for the line, one for the space inside. */
const PANEL_CHROME_X = 4;
const PANEL_CHROME_Y = 2;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function useTerminalSize(columns: number | undefined, rows: number | undefined) {
  const { stdout } = useStdout();
  const [, setResized] = useState(0);
  useEffect(() => {
    const onResize = () => setResized((n) => n + 1);
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return {
    columns: columns ?? (stdout.columns || FALLBACK_COLUMNS),
    rows: rows ?? (stdout.rows || FALLBACK_ROWS),
  };
}

export function StatusApp(props: StatusAppProps) {
  const { source, actions, color } = props;
  const now = props.now ?? Date.now;
  const feed = useStatusFeed(source, now, props.tickMs ?? 1000);
  const { columns: width, rows } = useTerminalSize(props.columns, props.rows);
  const { exit } = useApp();

  const [ui, setUi] = useState<ViewState>(initialViewState);
  const [invite, setInvite] = useState<InviteView | null>(null);
  const [ping, setPing] = useState<PingView | null>(null);
  // Several keys can arrive in one read; each must see the state the previous one left.
  const uiRef = useRef(ui);
  const requests = useRef({ invite: 0, ping: 0, mounted: true });
  useEffect(() => {
    requests.current.mounted = true;
    return () => {
      requests.current.mounted = false;
    };
  }, []);

  const nowMs = now();
  const status = feed.status;
  const live = status !== null && feed.state !== 'not-running';
  const peers = live ? [...status.peers].sort((a, b) => a.name.localeCompare(b.name)) : [];
  const visible = peers.filter((p) => matchesFilter(p, ui.filter));
  const visibleKeys = visible.map((p) => p.publicKey);
  const selectedKey = resolveSelected(ui.selected, visibleKeys);
  const selectedPeer = visible.find((p) => p.publicKey === selectedKey) ?? null;

  const startInvite = () => {
    const id = ++requests.current.invite;
    setInvite({ state: 'pending' });
    actions.createInvite().then(
      (result) => {
        if (requests.current.mounted && id === requests.current.invite) setInvite({ state: 'done', result });
      },
      (e: unknown) => {
        if (requests.current.mounted && id === requests.current.invite) {
          setInvite({ state: 'failed', message: errorText(e) });
        }
      },
    );
  };

  const startPing = (name: string) => {
    const id = ++requests.current.ping;
    setPing({ name, state: 'pending' });
    actions.ping(name).then(
      (r) => {
        if (requests.current.mounted && id === requests.current.ping) {
          setPing({ name, state: 'done', rttMs: r.rttMs, path: r.path });
        }
      },
      (e: unknown) => {
        if (requests.current.mounted && id === requests.current.ping) {
          setPing({ name, state: 'failed', message: errorText(e) });
        }
      },
    );
  };

  // Ink may call a handler from an earlier render; it reads what is on screen now through this ref.
  const shown = useRef({ keys: visibleKeys, peers, live });
  shown.current = { keys: visibleKeys, peers, live };

  useInput((input, key) => {
    const { state, effect } = onKey(uiRef.current, input, key, shown.current.keys);
    // Without a node there is nothing to select, invite with or ping; only quitting makes sense.
    if (!shown.current.live && effect !== 'quit') return;
    uiRef.current = state;
    setUi(state);
    if (effect === 'quit') {
      props.onExit?.();
      exit();
    } else if (effect === 'invite') {
      startInvite();
    } else if (effect === 'ping') {
      const target = shown.current.peers.find((p) => p.publicKey === state.selected);
      if (target) startPing(target.name);
    }
  });

  if (!live) {
    const detail = feed.state === 'not-running' ? feed.detail : undefined;
    return (
      <Box flexDirection="column" width={width}>
        <NotRunning state={feed.state} detail={detail} color={color} />
        <Text> </Text>
        <Text dimColor={color}>q quit</Text>
      </Box>
    );
  }

  const header = headerLines(status, feed.receivedAt, nowMs, width);
  // A detail panel whose member was filtered away shows the table; the keys shown must match.
  const mode = ui.mode === 'detail' && !selectedPeer ? 'table' : ui.mode;
  const footer = footerLines(mode, ui.filter).flatMap((l) => wrapText(l, width));
  const notes = [
    ...(feed.state === 'connecting' ? ['lost the node; reconnecting…'] : []),
    ...(ping && mode !== 'detail' ? [pingText(ping)] : []),
  ].flatMap((n) => wrapText(n, width));
  // One spare row: Ink clears and redraws the whole screen once output reaches the terminal's height.
  const body = Math.max(4, rows - header.length - 1 - notes.length - footer.length - 1);

  let main: ReactNode;
  if (mode === 'detail' && selectedPeer) {
    const inner = width - PANEL_CHROME_X;
    const lines = detailLines(selectedPeer, status, feed.traffic, nowMs, inner, ping);
    main = (
      <Box borderStyle="single" paddingX={1} width={width} flexDirection="column">
        <Lines lines={clipLines(lines, body - PANEL_CHROME_Y)} color={color} />
      </Box>
    );
  } else if (ui.mode === 'invite' && invite) {
    main = (
      <Box borderStyle="single" paddingX={1} width={width} flexDirection="column">
        <InvitePanel
          invite={invite}
          nowMs={nowMs}
          width={width - PANEL_CHROME_X}
          maxLines={body - PANEL_CHROME_Y}
          color={color}
        />
      </Box>
    );
  } else if (peers.length === 0) {
    main = <Text>no other members yet: press i to make an invite code</Text>;
  } else if (visible.length === 0) {
    main = <Text>{`no member matches "${ui.filter}"`}</Text>;
  } else {
    const table = memberTable(visible, feed.traffic, nowMs, width);
    // The header row is one line; scroll markers take up to two more when the list is longer than the room.
    const maxRows = visible.length <= body - 1 ? body - 1 : body - 3;
    main = <MemberTableView table={table} selected={selectedKey} maxRows={maxRows} color={color} />;
  }

  return (
    <Box flexDirection="column" width={width}>
      {header.map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: header lines are positions, rebuilt each render
        <Text key={i} wrap="truncate-end">
          {i === 0 ? <Text bold={color}>{line}</Text> : <Text dimColor={color}>{line}</Text>}
        </Text>
      ))}
      <Text> </Text>
      {main}
      {notes.map((n, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: notes are positions, rebuilt each render
        <Text key={i}>{n}</Text>
      ))}
      {footer.map((f, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: footer lines are positions, rebuilt each render
        <Text key={i} dimColor={color} wrap="truncate-end">
          {f}
        </Text>
      ))}
    </Box>
  );
}
