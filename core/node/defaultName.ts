import os from 'node:os';

/** The machine's hostname made into a member name: lowercase letters, digits, single dashes. */
export function defaultMemberName(hostname: string = os.hostname()): string {
  const cleaned = hostname
    .toLowerCase()
    .split('.')[0]!
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return cleaned || 'node';
}
