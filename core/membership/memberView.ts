/**
 * Who the members are at one moment: every valid certificate, with duplicates resolved the same
 * way on every node. When two valid certificates claim the same name, IPv4, IPv6 or WireGuard key,
 * the one issued first holds it (then the smaller subject, byte order of its text); the other is
 * shadowed until the first one goes away. The result depends only on the set of records and the
 * time, never on the order gossip delivered them.
 */
import { encodeKey } from '../base/keys.js';
import type { Certificate } from './certificate.js';
import { subjectOf } from './certificate.js';

export interface MemberView {
  /** subject → certificate, for members that hold everything their certificate claims. */
  readonly bySubject: Map<string, Certificate>;
  readonly byName: Map<string, string>;
  readonly byIPv4: Map<string, string>;
  readonly byIPv6: Map<string, string>;
  /** WireGuard key (base64) → subject. */
  readonly byWireguardKey: Map<string, string>;
}

export function emptyView(): MemberView {
  return {
    bySubject: new Map(),
    byName: new Map(),
    byIPv4: new Map(),
    byIPv6: new Map(),
    byWireguardKey: new Map(),
  };
}

/** "First issued wins": the order in which valid certificates take what they claim. */
export function precedes(a: Certificate, b: Certificate): boolean {
  if (a.issuedAt !== b.issuedAt) return a.issuedAt < b.issuedAt;
  return subjectOf(a) < subjectOf(b);
}

/** Subjects of the view's members that claim anything `cert` claims (excluding its own subject). */
export function conflictsIn(view: MemberView, cert: Certificate): Certificate[] {
  const own = subjectOf(cert);
  const found = new Set<string>();
  for (const subject of [
    view.byName.get(cert.name),
    view.byIPv4.get(cert.ipv4),
    view.byIPv6.get(cert.ipv6),
    view.byWireguardKey.get(encodeKey(cert.wireguardKey)),
  ]) {
    if (subject !== undefined && subject !== own) found.add(subject);
  }
  return [...found].map((s) => view.bySubject.get(s)!);
}

export function addToView(view: MemberView, cert: Certificate): void {
  const subject = subjectOf(cert);
  view.bySubject.set(subject, cert);
  view.byName.set(cert.name, subject);
  view.byIPv4.set(cert.ipv4, subject);
  view.byIPv6.set(cert.ipv6, subject);
  view.byWireguardKey.set(encodeKey(cert.wireguardKey), subject);
}

/** Builds the view from certificates already known to be valid. */
export function buildView(valid: Iterable<Certificate>): MemberView {
  const ordered = [...valid].sort((a, b) => (precedes(a, b) ? -1 : precedes(b, a) ? 1 : 0));
  const view = emptyView();
  for (const cert of ordered) {
    if (conflictsIn(view, cert).length === 0) addToView(view, cert);
  }
  return view;
}
