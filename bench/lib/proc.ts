/**
 * Peak memory and CPU time of processes, read from /proc (Linux only; other
 * platforms report nothing rather than guess). VmHWM is the kernel's own
 * high-water mark of a process's resident set, so a sampler that polls it
 * loses nothing between polls except the last moments before exit.
 */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on every Linux build Node supports

export interface ProcSample {
  /** Peak resident set so far, MB. */
  peakRssMb: number;
  rssMb: number;
  /** User + system CPU seconds so far. */
  cpuSec: number;
}

function kbField(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

export function sampleProcess(pid: number | 'self'): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSec = (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
    // A zombie (exited, not yet reaped) has no memory lines: its last live sample stands.
    if (!/^VmHWM:/m.test(status)) return undefined;
    return { peakRssMb: kbField(status, 'VmHWM'), rssMb: kbField(status, 'VmRSS'), cpuSec };
  } catch {
    return undefined; // gone, or not Linux
  }
}

/**
 * CPU seconds of this process's children that have exited and been reaped
 * (cutime + cstime): exact for short-lived children such as ffmpeg, whose
 * last moments a poller misses.
 */
export function reapedChildrenCpuSec(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[13]) + Number(rest[14])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export interface RoleStats {
  peakRssMb: number;
  cpuSec: number;
  processes: number;
}

/**
 * Polls a changing set of processes, each given a role by the caller, and
 * keeps per role the largest peak RSS (since the process started) and the
 * CPU time summed over its processes since start() (from the last sample of
 * each, so a process's final moments are missed).
 */
export class ProcessSampler {
  private readonly last = new Map<number, { role: string; sample: ProcSample }>();
  /** CPU time of the processes already running at start(), so that only the time since counts. */
  private readonly cpuAtStart = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly discover: () => Array<{ pid: number; role: string }>, private readonly everyMs = 100) {}

  start(): void {
    this.poll();
    for (const [pid, { sample }] of this.last) this.cpuAtStart.set(pid, sample.cpuSec);
    this.timer = setInterval(() => this.poll(), this.everyMs);
    this.timer.unref();
  }

  stop(): Record<string, RoleStats> {
    if (this.timer) clearInterval(this.timer);
    this.poll();
    const out: Record<string, RoleStats> = {};
    for (const [pid, { role, sample }] of this.last) {
      const r = (out[role] ??= { peakRssMb: 0, cpuSec: 0, processes: 0 });
      r.peakRssMb = Math.max(r.peakRssMb, sample.peakRssMb);
      r.cpuSec += sample.cpuSec - (this.cpuAtStart.get(pid) ?? 0);
      r.processes++;
    }
    return out;
  }

  private poll(): void {
    for (const { pid, role } of this.discover()) {
      const s = sampleProcess(pid);
      if (s) this.last.set(pid, { role, sample: s });
    }
  }
}
