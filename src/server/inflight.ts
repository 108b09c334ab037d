// The requests handed to PHP and not yet answered, by request id.
//
// Not a Map: measured on Node 20 (V8 11.3), a Map whose integer keys keep growing while old
// ones are deleted (one set and one delete per request) made about a third of the young
// generation survive each scavenge (new_space_survive_rate 35 % against 0.2 %, with
// --trace-gc-nvp), which cost 6 us of CPU per request in a hello-world server.
//
// Nor only an object used as a dictionary (integer keys kept as dictionary elements): its
// hashed insert and delete cost ~1.6k instructions per request on the main thread (callgrind).
// Ids are handed out in sequence and most requests end in about the order they came, so the
// entries live in an array indexed by the id's low bits: a slot is nearly always free again
// by the time its id comes round. An entry still there then (a long request: a stream, a
// slow handler) moves aside to the dictionary, where it stays until it ends.

export class InFlightTable<T extends { readonly id: number }> {
  private slots: (T | undefined)[] = new Array<T | undefined>(1024).fill(undefined);
  private mask = 1023;
  /** Entries moved out of their slot by a newer id with the same low bits. */
  private older: Record<number, T> = Object.create(null) as Record<number, T>;
  private olderCount = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const v = this.slots[id & this.mask];
    if (v !== undefined && v.id === id) return v;
    return this.olderCount > 0 ? this.older[id] : undefined;
  }

  /** `value.id` must be `id`. */
  set(id: number, value: T): void {
    // Room for twice the entries in flight: most ids then find their slot free.
    if (this.count >= this.slots.length >> 1) this.grow();
    const i = id & this.mask;
    const cur = this.slots[i];
    if (cur !== undefined) {
      if (cur.id === id) {
        this.slots[i] = value;
        return;
      }
      this.older[cur.id] = cur;
      this.olderCount++;
    } else if (this.olderCount > 0 && this.older[id] !== undefined) {
      this.older[id] = value;
      return;
    }
    this.slots[i] = value;
    this.count++;
  }

  /** Removes `id`; true when it was there. */
  delete(id: number): boolean {
    const i = id & this.mask;
    const v = this.slots[i];
    if (v !== undefined && v.id === id) {
      this.slots[i] = undefined;
      this.count--;
      return true;
    }
    if (this.olderCount === 0 || this.older[id] === undefined) return false;
    delete this.older[id];
    this.olderCount--;
    this.count--;
    return true;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Every entry, oldest id first; safe to delete while iterating (it walks a snapshot). */
  entries(): [number, T][] {
    const out: [number, T][] = [];
    for (const v of this.slots) if (v !== undefined) out.push([v.id, v]);
    for (const v of Object.values(this.older)) out.push([v.id, v]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** Twice the slots: ids apart in their low bits stay apart, so each entry finds its slot free. */
  private grow(): void {
    const old = this.slots;
    this.slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    for (const v of old) if (v !== undefined) this.slots[v.id & this.mask] = v;
  }
}
