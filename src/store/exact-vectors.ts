/** A label with its inner-product score against a query. */
export interface LabelScore {
  label: number;
  score: number;
}

/**
 * Unit vectors kept in one Float32Array, scanned exactly: for unit vectors the dot product is
 * the cosine. 20k × 256 dimensions is 20 MB and a few milliseconds per query (BENCHMARKS.md).
 * Deleting moves the last vector into the freed slot, so the scan stays dense.
 */
export class ExactVectors {
  private data: Float32Array;
  private labels: Float64Array;
  private readonly slotOf = new Map<number, number>();
  private count = 0;

  constructor(
    readonly dimensions: number,
    capacity = 1024,
  ) {
    this.data = new Float32Array(Math.max(capacity, 16) * dimensions);
    this.labels = new Float64Array(Math.max(capacity, 16));
  }

  get size(): number {
    return this.count;
  }

  has(label: number): boolean {
    return this.slotOf.has(label);
  }

  /** Adds or replaces the (unit) vector under `label`. */
  set(label: number, vector: Float32Array): void {
    let slot = this.slotOf.get(label);
    if (slot === undefined) {
      if (this.count === this.labels.length) this.grow();
      slot = this.count++;
      this.slotOf.set(label, slot);
      this.labels[slot] = label;
    }
    this.data.set(vector.subarray(0, this.dimensions), slot * this.dimensions);
  }

  /** The stored vector (a view; copy before keeping it past the next change). */
  get(label: number): Float32Array | undefined {
    const slot = this.slotOf.get(label);
    if (slot === undefined) return undefined;
    return this.data.subarray(slot * this.dimensions, (slot + 1) * this.dimensions);
  }

  delete(label: number): void {
    const slot = this.slotOf.get(label);
    if (slot === undefined) return;
    this.slotOf.delete(label);
    const last = --this.count;
    if (slot !== last) {
      const moved = this.labels[last] as number;
      this.data.copyWithin(
        slot * this.dimensions,
        last * this.dimensions,
        (last + 1) * this.dimensions,
      );
      this.labels[slot] = moved;
      this.slotOf.set(moved, slot);
    }
  }

  labelList(): number[] {
    return Array.from(this.labels.subarray(0, this.count));
  }

  /** The k best labels by dot product, best first (ties by label); `allowed` restricts them. */
  search(
    query: Float32Array,
    k: number,
    allowed?: ((label: number) => boolean) | undefined,
  ): LabelScore[] {
    const top = new TopK(k);
    for (let slot = 0; slot < this.count; slot++) {
      const label = this.labels[slot] as number;
      if (allowed && !allowed(label)) continue;
      top.offer(label, this.dotAt(query, slot));
    }
    return top.sorted();
  }

  /** Like `search`, visiting only the given labels (a filter that admits few). */
  searchAmong(query: Float32Array, k: number, labels: Iterable<number>): LabelScore[] {
    const top = new TopK(k);
    for (const label of labels) {
      const slot = this.slotOf.get(label);
      if (slot !== undefined) top.offer(label, this.dotAt(query, slot));
    }
    return top.sorted();
  }

  private dotAt(query: Float32Array, slot: number): number {
    const data = this.data;
    const d = this.dimensions;
    const base = slot * d;
    // four accumulators let the CPU overlap the multiply-adds (about 2x over one sum)
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i + 3 < d; i += 4) {
      s0 += (query[i] as number) * (data[base + i] as number);
      s1 += (query[i + 1] as number) * (data[base + i + 1] as number);
      s2 += (query[i + 2] as number) * (data[base + i + 2] as number);
      s3 += (query[i + 3] as number) * (data[base + i + 3] as number);
    }
    for (; i < d; i++) s0 += (query[i] as number) * (data[base + i] as number);
    return s0 + s1 + s2 + s3;
  }

  private grow(): void {
    const capacity = Math.ceil(this.labels.length * 1.5) + 16;
    const data = new Float32Array(capacity * this.dimensions);
    data.set(this.data.subarray(0, this.count * this.dimensions));
    const labels = new Float64Array(capacity);
    labels.set(this.labels.subarray(0, this.count));
    this.data = data;
    this.labels = labels;
  }
}

/** Keeps the k best (label, score) pairs offered; ties go to the smaller label. */
export class TopK {
  private readonly items: LabelScore[] = [];

  constructor(private readonly k: number) {}

  /** The score a newcomer must beat once k are held. */
  private get floor(): number {
    return this.items.length < this.k ? -Infinity : (this.items[this.k - 1] as LabelScore).score;
  }

  offer(label: number, score: number): void {
    if (this.k <= 0 || score < this.floor) return;
    const items = this.items;
    let at = items.length;
    while (at > 0) {
      const before = items[at - 1] as LabelScore;
      if (before.score > score || (before.score === score && before.label < label)) break;
      at--;
    }
    if (at >= this.k) return;
    items.splice(at, 0, { label, score });
    if (items.length > this.k) items.pop();
  }

  sorted(): LabelScore[] {
    return this.items;
  }
}
