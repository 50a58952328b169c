/**
 * Node status at most once per interval: a flow doing 30 frames a second must
 * not send 30 status updates a second to every open editor.
 */
import type { NodeStatus } from 'node-red';

/** A status, or what makes it when it is shown: words are then translated once a second, not once a frame. */
export type StatusSource = NodeStatus | (() => NodeStatus);

const made = (s: StatusSource): NodeStatus => (typeof s === 'function' ? s() : s);

export class ThrottledStatus {
  private pending: StatusSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;

  constructor(
    private readonly apply: (status: NodeStatus) => void,
    private readonly intervalMs = 1000,
  ) {}

  /** Shows `status` now if the last update is old enough, else at the end of the interval. */
  set(status: StatusSource): void {
    const wait = this.lastAt + this.intervalMs - Date.now();
    if (wait <= 0 && !this.timer) {
      this.lastAt = Date.now();
      this.apply(made(status));
      return;
    }
    this.pending = status;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.pending) {
          this.lastAt = Date.now();
          const pending = this.pending;
          this.pending = undefined;
          this.apply(made(pending));
        }
      }, Math.max(0, wait));
    }
  }

  /** Shows `status` at once (state changes a user must see, such as a missing model). */
  now(status: NodeStatus): void {
    this.stop();
    this.lastAt = Date.now();
    this.apply(status);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
