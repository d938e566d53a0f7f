/**
 * The member table as text: which columns fit the width, and each cell already clipped and
 * padded. Pure, so the 80-column behaviour is testable without rendering.
 */
import type { ViewPeer } from './evidence.js';
import { age, compactRate, fitWidth, pathLabel, rtt } from './format.js';
import { type ColumnSpec, layoutColumns, type PlacedColumn } from './layout.js';
import { sparkline } from './sparkline.js';
import { HISTORY, type TrafficState, trafficOf } from './traffic.js';

export type ColumnId = 'name' | 'address' | 'path' | 'rtt' | 'rates' | 'handshake' | 'traffic' | 'endpoint';

interface ColumnDef {
  id: ColumnId;
  header: string;
  priority: number;
  required?: boolean;
  /** Narrowest width worth showing; undefined means the column never shrinks. */
  min?: number;
  align: 'left' | 'right';
  /** The cell's text at its natural width (the traffic column draws itself to the width given). */
  text(peer: ViewPeer, traffic: TrafficState, nowMs: number): string;
}

// Order is left to right; priority decides what an 80-column terminal keeps: the endpoint and
// the sparkline give way first, the name, address and path never.
const COLUMNS: readonly ColumnDef[] = [
  { id: 'name', header: 'NAME', priority: 100, required: true, min: 6, align: 'left', text: (p) => p.name },
  {
    id: 'address',
    header: 'ADDRESS',
    priority: 90,
    required: true,
    min: 7,
    align: 'left',
    text: (p) => p.addresses[0] ?? '-',
  },
  {
    id: 'path',
    header: 'PATH',
    priority: 80,
    required: true,
    // Room for "via NAME", the short form used when "relay via NAME" does not fit.
    min: 12,
    align: 'left',
    text: (p) => pathLabel(p.path, p.via),
  },
  { id: 'rtt', header: 'RTT', priority: 70, align: 'right', text: (p) => rtt(p.rttMs) },
  {
    // One column so received and sent appear and disappear together.
    id: 'rates',
    header: ' RX/s   TX/s',
    priority: 50,
    align: 'right',
    text: (p, t) => {
      const { rx, tx } = trafficOf(t, p.publicKey);
      return `${fitWidth(compactRate(rx), 5, 'right')}  ${fitWidth(compactRate(tx), 5, 'right')}`;
    },
  },
  { id: 'traffic', header: 'TRAFFIC', priority: 20, min: 6, align: 'left', text: () => ' '.repeat(HISTORY) },
  {
    id: 'handshake',
    header: 'HS AGO',
    priority: 60,
    align: 'right',
    text: (p, _t, now) => age(p.lastHandshake, now),
  },
  {
    id: 'endpoint',
    header: 'ENDPOINT',
    priority: 10,
    // A clipped endpoint reads as a different address, so it shows whole or not at all.
    align: 'left',
    text: (p) => p.endpoint ?? '-',
  },
];

/** Room for the selection marker and the online marker before the first column: "› * ". */
export const ROW_PREFIX = 4;
export const COLUMN_GAP = 2;

export interface TableCell {
  id: ColumnId;
  text: string;
}

export interface TableRow {
  key: string;
  peer: ViewPeer;
  cells: TableCell[];
}

export interface MemberTable {
  columns: PlacedColumn[];
  header: TableCell[];
  rows: TableRow[];
}

export function memberTable(
  peers: readonly ViewPeer[],
  traffic: TrafficState,
  nowMs: number,
  width: number,
): MemberTable {
  const raw = peers.map((p) => COLUMNS.map((c) => c.text(p, traffic, nowMs)));
  const specs: ColumnSpec[] = COLUMNS.map((c, i) => {
    const want = Math.max(c.header.length, ...raw.map((r) => [...r[i]!].length));
    return {
      id: c.id,
      want,
      min: c.min ?? want,
      priority: c.priority,
      ...(c.required ? { required: true } : {}),
    };
  });
  const columns = layoutColumns(specs, width, COLUMN_GAP, ROW_PREFIX);
  const placed = columns.map((pc) => ({ pc, def: COLUMNS.find((c) => c.id === pc.id)! }));
  const cell = (def: ColumnDef, text: string, w: number): TableCell => ({
    id: def.id,
    text: fitWidth(text, w, def.align),
  });
  return {
    columns,
    header: placed.map(({ pc, def }) => cell(def, def.header, pc.width)),
    rows: peers.map((p, r) => ({
      key: p.publicKey,
      peer: p,
      cells: placed.map(({ pc, def }) => {
        let text = raw[r]![COLUMNS.indexOf(def)]!;
        if (def.id === 'traffic') text = sparkline(trafficOf(traffic, p.publicKey).history, pc.width);
        // "via delta" still says relayed; a clipped "relay …" would hide the relay's name.
        if (def.id === 'path' && p.path === 'relay' && p.via && [...text].length > pc.width)
          text = `via ${p.via}`;
        return cell(def, text, pc.width);
      }),
    })),
  };
}
