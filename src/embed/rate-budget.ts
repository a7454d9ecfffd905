import { setTimeout as sleep } from "node:timers/promises";

export interface RateBudgetOptions {
  tokensPerMinute: number;
  requestsPerMinute: number;
  /** The window the limits apply to (default one minute; tests shorten it). */
  windowMs?: number;
  now?: () => number;
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface Spend {
  at: number;
  tokens: number;
}

/**
 * A sliding-window tokens-per-minute and requests-per-minute budget shared by every call to one
 * provider model: a call that would exceed it waits until enough of the window has passed, so a
 * large ingest slows down instead of collecting 429s. Callers are served first come, first served.
 */
export class RateBudget {
  private readonly spent: Spend[] = [];
  private queue: Promise<void> = Promise.resolve();
  private pausedUntil = 0;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: RateBudgetOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.wait = options.wait ?? ((ms, signal) => sleep(ms, undefined, { signal }));
  }

  /** Resolves once a call of `tokens` fits the budget, and books it. */
  acquire(tokens: number, signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.book(tokens, signal));
    // a cancelled caller must not block the ones behind it
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Holds every call back for `ms` (the provider said to, e.g. with retry-after). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** Milliseconds a call of `tokens` would wait now (0 when it fits). */
  delayFor(tokens: number): number {
    const now = this.now();
    this.expire(now);
    let delay = Math.max(0, this.pausedUntil - now);
    if (this.spent.length >= this.options.requestsPerMinute) {
      const oldest = this.spent[this.spent.length - this.options.requestsPerMinute] as Spend;
      delay = Math.max(delay, oldest.at + this.windowMs - now);
    }
    // one call larger than the whole budget runs alone rather than never
    const allowance = Math.max(
      0,
      this.options.tokensPerMinute - Math.min(tokens, this.options.tokensPerMinute),
    );
    let total = 0;
    for (const spend of this.spent) total += spend.tokens;
    for (const spend of this.spent) {
      if (total <= allowance) break;
      total -= spend.tokens;
      delay = Math.max(delay, spend.at + this.windowMs - now);
    }
    return delay;
  }

  private async book(tokens: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const delay = this.delayFor(tokens);
      if (delay <= 0) break;
      await this.wait(delay, signal);
    }
    this.spent.push({ at: this.now(), tokens });
  }

  private expire(now: number): void {
    while (this.spent.length > 0 && (this.spent[0] as Spend).at + this.windowMs <= now) {
      this.spent.shift();
    }
  }
}
