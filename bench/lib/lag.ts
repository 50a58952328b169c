/**
 * Event-loop lag as a user of the Node-RED editor or of an HTTP endpoint in
 * the same process would feel it: a timer asks to run every `intervalMs`,
 * and the lag of each tick is how much later than asked it ran.
 *
 * perf_hooks.monitorEventLoopDelay was tried first; its samples include the
 * sampling interval itself (an idle loop reports 10 ms at a 10 ms
 * resolution), which makes the figures harder to read than this.
 */
import { percentile, round } from './stats';

export interface LagSummary {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  samples: number;
}

export class LagProbe {
  private readonly lags: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(private readonly intervalMs = 10) {}

  start(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.lags.push(Math.max(0, now - this.last - this.intervalMs));
      this.last = now;
    }, this.intervalMs);
  }

  stop(): LagSummary {
    if (this.timer) clearInterval(this.timer);
    const l = this.lags;
    return {
      p50: round(percentile(l, 50), 1),
      p99: round(percentile(l, 99), 1),
      max: round(l.length ? Math.max(...l) : NaN, 1),
      mean: round(l.reduce((a, b) => a + b, 0) / Math.max(1, l.length), 1),
      samples: l.length,
    };
  }
}
