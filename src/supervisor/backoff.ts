// Delay before a dead child is started again: doubles while children keep dying soon after
// they start (a crash loop must not eat the CPU the other children serve with), and starts
// over once a child has stayed up for a while.

export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 10_000;
/** A child that lived this long counts as healthy: its successor starts at once. */
export const HEALTHY_AFTER_MS = 30_000;

export class Backoff {
  private next = 0;

  /** The delay for a child that lived `livedMs`. */
  delayAfter(livedMs: number): number {
    if (livedMs >= HEALTHY_AFTER_MS) this.next = 0;
    const d = this.next;
    this.next = Math.min(MAX_DELAY_MS, d === 0 ? FIRST_DELAY_MS : d * 2);
    return d;
  }
}
