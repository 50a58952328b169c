/**
 * Download progress for people: a bar redrawn in place on a terminal, and a
 * line every so often when stderr is a log file or a CI console (where a bar
 * would become thousands of lines).
 */
export interface ProgressSink {
  /** `total` bytes to have when done (undefined if a size is unknown), `done` already there from an earlier run. */
  begin(total: number | undefined, done: number): void;
  /** A file starts (or resumes at `from`). */
  file(name: string, size: number | undefined, from: number): void;
  advance(bytes: number): void;
  note(message: string): void;
  end(): void;
}

export const silentProgress: ProgressSink = {
  begin: () => undefined,
  file: () => undefined,
  advance: () => undefined,
  note: () => undefined,
  end: () => undefined,
};

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

export interface ProgressStream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Redraw interval on a terminal. */
  drawMs?: number;
  /** Interval between lines when not a terminal. */
  lineMs?: number;
  now?: () => number;
}

export function createProgress(out: ProgressStream, opts: ProgressOptions = {}): ProgressSink {
  const now = opts.now ?? Date.now;
  const tty = out.isTTY === true;
  const every = tty ? (opts.drawMs ?? 150) : (opts.lineMs ?? 15_000);
  let total: number | undefined;
  let done = 0;
  let startDone = 0;
  let startAt = 0;
  let last = 0;
  let current = '';
  let drawn = false;

  const line = (): { pct?: number; text: string } => {
    const secs = Math.max(0.001, (now() - startAt) / 1000);
    const speed = (done - startDone) / secs;
    const pct = total ? Math.min(100, (100 * done) / total) : undefined;
    const eta = total && speed > 0 ? formatDuration((total - done) / speed) : '?';
    const amount = total ? `${formatBytes(done)} / ${formatBytes(total)}` : formatBytes(done);
    return { pct, text: `${amount}  ${formatBytes(Math.round(speed))}/s  eta ${eta}  ${current}` };
  };

  const draw = (force = false): void => {
    const t = now();
    if (!force && t - last < every) return;
    last = t;
    const { pct, text } = line();
    if (tty) {
      const width = 24;
      const filled = pct === undefined ? 0 : Math.round((width * pct) / 100);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct === undefined ? '  ?' : pct.toFixed(0).padStart(3)}%  ${text}`;
      const cols = out.columns ?? 100;
      out.write(`\r${bar.slice(0, cols - 1).padEnd(cols - 1)}`);
      drawn = true;
    } else {
      out.write(`fetch: ${pct === undefined ? '' : `${pct.toFixed(0)}%  `}${text}\n`);
    }
  };
  const say = (msg: string): void => {
    if (tty && drawn) out.write(`\r${' '.repeat((out.columns ?? 100) - 1)}\r`);
    out.write(`${msg}\n`);
    if (tty && drawn) draw(true);
  };

  return {
    begin(t, d) {
      total = t;
      done = d;
      startDone = d;
      startAt = now();
      last = startAt;
    },
    file(name, size, from) {
      current = name;
      const sz = size === undefined ? 'size unknown' : formatBytes(size);
      say(from > 0 ? `${name} (${sz}): resuming at ${formatBytes(from)}` : `${name} (${sz})`);
    },
    advance(bytes) {
      done += bytes;
      draw();
    },
    note: say,
    end() {
      if (tty && drawn) {
        draw(true);
        out.write('\n');
      }
      drawn = false;
    },
  };
}
