/**
 * The watched-folder claims in progress in this process, where the code
 * working on a claim's file (the nodes of a flow) and the intake that owns
 * the claim meet.
 *
 * Workers write the result to the claim's staging file, never to the output
 * itself: the intake publishes it with its audit. A worker holds the claim
 * while it works (hold/release), checks `assertLive()` just before it gives
 * a temporary file its final name, and listens to `signal`, which aborts
 * when the claim ends early (time-out, the flow stopped). The intake frees
 * the claim's slot only once every hold is released: a timed-out job has
 * then actually stopped (ffmpeg ended, frames dropped) and more jobs than
 * the limit never run at once.
 */

export class ClaimEndedError extends Error {
  readonly code = 'CLAIM_ENDED';
  constructor(token: string, reason: string) {
    super(`claim ${token} ended: ${reason}`);
    this.name = 'ClaimEndedError';
  }
}

export class LiveClaim {
  /** Who holds the claim now (a node's type and id), one entry per hold. */
  private readonly holders: string[] = [];
  private endReason: string | undefined;
  private readonly abort = new AbortController();
  private idle: Array<() => void> = [];

  constructor(
    readonly token: string,
    /** Where the redacted result is published, once complete. */
    readonly output: string,
    /** Where workers write the result. */
    readonly staging: string,
    /** The intake's side of parking (see park()). */
    private readonly parking?: (id: string | undefined) => Promise<void>,
    /** The review item it waits for, when it was parked before a restart. */
    private parkedAs?: string,
  ) {}

  /** The review item this claim waits for, if parked. */
  get parkedFor(): string | undefined {
    return this.parkedAs;
  }

  /**
   * The claim's file waits for a person's decision (review item `id`): its
   * time limit stops, its lease is still renewed, and a restart holds it
   * again instead of running it. unpark() when the decision is made.
   */
  async park(id: string): Promise<void> {
    this.assertLive();
    this.parkedAs = id;
    await this.parking?.(id);
  }

  /** The decision is made: the time limit runs again, from now. */
  async unpark(): Promise<void> {
    this.parkedAs = undefined;
    await this.parking?.(undefined);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get live(): boolean {
    return this.endReason === undefined;
  }

  /** Throws ClaimEndedError once the claim has ended: nothing of its work may appear any more. */
  assertLive(): void {
    if (this.endReason !== undefined) throw new ClaimEndedError(this.token, this.endReason);
  }

  /** Marks work in progress by `by` (named in the log should it not stop); the returned function ends it (once). */
  hold(by: string): () => void {
    this.holders.push(by);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders.splice(this.holders.indexOf(by), 1);
      if (this.holders.length === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
  }

  /** Who holds the claim now, each once with a count where several holds are theirs. */
  get heldBy(): string[] {
    const counts = new Map<string, number>();
    for (const h of this.holders) counts.set(h, (counts.get(h) ?? 0) + 1);
    return [...counts].map(([h, n]) => (n > 1 ? `${h} (${n})` : h));
  }

  /** Ends the claim; aborts its work if `abort` (a time-out, a stop) rather than finishing it. */
  end(reason: string, abort: boolean): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    registry.delete(this.token);
    rememberEnded(this.token);
    if (abort) this.abort.abort(new ClaimEndedError(this.token, reason));
  }

  /** Resolves when no work holds the claim. */
  whenIdle(): Promise<void> {
    if (this.holders.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}

const registry = new Map<string, LiveClaim>();
/** Tokens that ended, newest last, bounded: a message of such a claim still on its way is dropped quietly. */
const ended = new Set<string>();
const MAX_ENDED = 1000;

function rememberEnded(token: string): void {
  ended.add(token);
  if (ended.size > MAX_ENDED) ended.delete(ended.values().next().value as string);
}

export const liveClaims = {
  add(claim: LiveClaim): void {
    registry.set(claim.token, claim);
  },
  get(token: unknown): LiveClaim | undefined {
    return typeof token === 'string' ? registry.get(token) : undefined;
  },
  /** The claim parked for review item `id` (its token changes when a restart takes it up again). */
  parkedFor(id: string): LiveClaim | undefined {
    for (const claim of registry.values()) if (claim.parkedFor === id) return claim;
    return undefined;
  },
  /** Whether `token` names a claim that has ended (finished, failed, timed out, or its flow stopped). */
  hasEnded(token: unknown): boolean {
    return typeof token === 'string' && ended.has(token);
  },
};
