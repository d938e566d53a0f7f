/** What the benchmarks measure with: medians, and a process's CPU time and memory from /proc. */
import { readdirSync, readFileSync } from 'node:fs';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** utime + stime of a process (and its threads), in seconds (USER_HZ is 100 on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** Something with teardowns, like AVA's `t`, for the helpers a benchmark shares with the tests. */
export interface Teardowns {
  teardown(fn: () => void): void;
}

/** Runs one round with its own teardowns, and runs them (last first) however the round ends. */
export async function withTeardowns<T>(round: (t: Teardowns) => Promise<T>): Promise<T> {
  const cleanups: (() => void)[] = [];
  try {
    return await round({ teardown: (fn) => cleanups.push(fn) });
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        fn();
      } catch {
        // best effort: the namespaces' own exit hook catches what is left
      }
    }
  }
}

/** Benchmarks make network namespaces: refuse to start without root, with a one-line reason. */
export function requireRoot(bench: string): void {
  if (process.getuid?.() !== 0) {
    console.error(`${bench} needs root (it makes network namespaces)`);
    process.exit(3);
  }
}

/** One thread of a process: its name, CPU seconds (utime + stime) and context switches so far. */
export interface ThreadSample {
  tid: number;
  name: string;
  cpuSeconds: number;
  /** Voluntary and involuntary context switches: each is a time the thread slept or was put off the CPU. */
  switches: number;
}

/** Every thread of a process, from /proc/PID/task (a thread gone meanwhile is left out). */
export function threadSamples(pid: number): ThreadSample[] {
  const out: ThreadSample[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const count = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)$`, 'm').exec(status)?.[1] ?? 0);
      out.push({
        tid,
        name,
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
        switches: count('voluntary_ctxt_switches') + count('nonvoluntary_ctxt_switches'),
      });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}
