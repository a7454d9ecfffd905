import { stem } from "../embed/stem.ts";
import { STOP_WORDS } from "../embed/text-analysis.ts";
import type { ScoredChunk } from "../store/store.ts";
import { type Bm25Parameters, bm25Idf, DEFAULT_BM25 } from "./bm25.ts";
import { foldForKeywords, KEYWORD_TOKEN } from "./keyword-terms.ts";

/*
 * An in-memory inverted index with weighted BM25, kept beside a store's own keyword index
 * (which stays the source of truth and rebuilds it). FTS5's bm25() scores every matching row
 * of a MATCH and cannot weight query terms; RM3's expansion queries match most of a collection,
 * so they cost 10-15 ms per query through FTS5 at 100k chunks. Here a query is
 * term-at-a-time accumulation over typed-array postings: for a weighted query of 25 terms
 * that is a few hundred thousand multiply-adds, about a millisecond.
 *
 * Tokens are FTS5's (`porter unicode61`: letters and digits, case and diacritics folded,
 * Porter stems). Stop words are not posted (no query asks for them: keyword search drops them)
 * but count in a chunk's length, as they do in FTS5's. A removed chunk leaves a tombstone:
 * its postings stay (skipped when scoring) and document frequencies stay as they were until
 * the owner rebuilds the index, which `needsRebuild` asks for once a tenth of it is dead.
 */

/** How a chunk enters the index: its document's title and its own text. */
export interface IndexedChunk {
  chunkId: number;
  title: string;
  text: string;
}

export interface InvertedIndexOptions {
  bm25: Bm25Parameters;
  /** A title occurrence counts this many text occurrences (FTS5's column weight). */
  titleWeight: number;
}

export const DEFAULT_INVERTED_INDEX: InvertedIndexOptions = { bm25: DEFAULT_BM25, titleWeight: 1 };

/** Share of dead slots past which `needsRebuild` says so. */
const REBUILD_DEAD_SHARE = 0.1;
const INITIAL_POSTINGS = 4;

class Postings {
  slots = new Int32Array(INITIAL_POSTINGS);
  frequencies = new Float32Array(INITIAL_POSTINGS);
  size = 0;
  /** Chunks posted, dead ones included until a rebuild. */
  documentFrequency = 0;

  push(slot: number, frequency: number): void {
    if (this.size === this.slots.length) {
      const slots = new Int32Array(this.size * 2);
      slots.set(this.slots);
      this.slots = slots;
      const frequencies = new Float32Array(this.size * 2);
      frequencies.set(this.frequencies);
      this.frequencies = frequencies;
    }
    this.slots[this.size] = slot;
    this.frequencies[this.size] = frequency;
    this.size++;
    this.documentFrequency++;
  }

  /** Where `slot` is in this list (slots are posted in increasing order), or −1. */
  find(slot: number): number {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const value = this.slots[middle] as number;
      if (value === slot) return middle;
      if (value < slot) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}

/** Index terms of a text (stop words left out) and its length in tokens (stop words in). */
export function indexTerms(text: string): { terms: string[]; length: number } {
  const terms: string[] = [];
  let length = 0;
  for (const match of foldForKeywords(text).matchAll(KEYWORD_TOKEN)) {
    length++;
    const word = match[0];
    if (!STOP_WORDS.has(word)) terms.push(stem(word));
  }
  return { terms, length };
}

/** A min-heap of (score, slot) keeping the best `capacity` seen; ties go to the lower slot. */
class TopK {
  private readonly scores: Float64Array;
  private readonly slots: Int32Array;
  size = 0;

  constructor(private readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.slots = new Int32Array(capacity);
  }

  /** The score a newcomer must beat once the heap is full. */
  get threshold(): number {
    return this.size < this.capacity ? Number.NEGATIVE_INFINITY : (this.scores[0] as number);
  }

  private worse(a: number, b: number): boolean {
    const sa = this.scores[a] as number;
    const sb = this.scores[b] as number;
    return sa < sb || (sa === sb && (this.slots[a] as number) > (this.slots[b] as number));
  }

  private swap(a: number, b: number): void {
    const score = this.scores[a] as number;
    this.scores[a] = this.scores[b] as number;
    this.scores[b] = score;
    const slot = this.slots[a] as number;
    this.slots[a] = this.slots[b] as number;
    this.slots[b] = slot;
  }

  offer(score: number, slot: number): void {
    if (this.capacity === 0) return;
    if (this.size < this.capacity) {
      let at = this.size++;
      this.scores[at] = score;
      this.slots[at] = slot;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!this.worse(at, parent)) break;
        this.swap(at, parent);
        at = parent;
      }
      return;
    }
    const top = this.scores[0] as number;
    if (score < top || (score === top && slot > (this.slots[0] as number))) return;
    this.scores[0] = score;
    this.slots[0] = slot;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let smallest = at;
      if (left < this.size && this.worse(left, smallest)) smallest = left;
      if (right < this.size && this.worse(right, smallest)) smallest = right;
      if (smallest === at) break;
      this.swap(at, smallest);
      at = smallest;
    }
  }

  /** Best first. */
  drain(): { slot: number; score: number }[] {
    const items: { slot: number; score: number }[] = [];
    for (let index = 0; index < this.size; index++) {
      items.push({ slot: this.slots[index] as number, score: this.scores[index] as number });
    }
    return items.sort((a, b) => b.score - a.score || a.slot - b.slot);
  }
}

/** One collection's keyword index; see the module comment. */
export class InvertedIndex {
  private readonly postings = new Map<string, Postings>();
  /** Slot → chunk id, -1 once removed. */
  private chunkIds = new Int32Array(1024);
  private lengths = new Float32Array(1024);
  private readonly slotOf = new Map<number, number>();
  private slots = 0;
  private liveLength = 0;
  private accumulators = new Float64Array(1024);
  /** Of the last search's terms, how many lists were walked whole (diagnostics, tests). */
  lastWalk = { walked: 0, terms: 0 };

  constructor(readonly options: InvertedIndexOptions = DEFAULT_INVERTED_INDEX) {}

  /** Live chunks. */
  get size(): number {
    return this.slotOf.size;
  }

  /** Mean live chunk length in tokens (title + text, stop words included). */
  get averageLength(): number {
    return this.slotOf.size > 0 ? this.liveLength / this.slotOf.size : 0;
  }

  /** Whether enough chunks were removed that document frequencies should be recounted. */
  get needsRebuild(): boolean {
    return this.slots > 1000 && this.slots - this.slotOf.size > REBUILD_DEAD_SHARE * this.slots;
  }

  /** Chunks containing the term (dead ones included until a rebuild). */
  documentFrequency(term: string): number {
    return this.postings.get(term)?.documentFrequency ?? 0;
  }

  add(chunk: IndexedChunk): void {
    if (this.slotOf.has(chunk.chunkId)) this.remove([chunk.chunkId]);
    const slot = this.slots++;
    if (slot === this.chunkIds.length) this.grow();
    const title = indexTerms(chunk.title);
    const text = indexTerms(chunk.text);
    const frequencies = new Map<string, number>();
    for (const term of title.terms) {
      frequencies.set(term, (frequencies.get(term) ?? 0) + this.options.titleWeight);
    }
    for (const term of text.terms) frequencies.set(term, (frequencies.get(term) ?? 0) + 1);
    for (const [term, frequency] of frequencies) {
      let list = this.postings.get(term);
      if (!list) {
        list = new Postings();
        this.postings.set(term, list);
      }
      list.push(slot, frequency);
    }
    const length = title.length + text.length;
    this.chunkIds[slot] = chunk.chunkId;
    this.lengths[slot] = length;
    this.liveLength += length;
    this.slotOf.set(chunk.chunkId, slot);
  }

  remove(chunkIds: Iterable<number>): void {
    for (const chunkId of chunkIds) {
      const slot = this.slotOf.get(chunkId);
      if (slot === undefined) continue;
      this.slotOf.delete(chunkId);
      this.chunkIds[slot] = -1;
      this.liveLength -= this.lengths[slot] as number;
    }
  }

  private grow(): void {
    const capacity = this.chunkIds.length * 2;
    const chunkIds = new Int32Array(capacity);
    chunkIds.set(this.chunkIds);
    this.chunkIds = chunkIds;
    const lengths = new Float32Array(capacity);
    lengths.set(this.lengths);
    this.lengths = lengths;
  }

  /**
   * The `k` best live chunks for a weighted query (term → weight, terms as `indexTerms`
   * makes them) by Σ w(t)·idf(t)·tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl)), best first;
   * `accept`, when given, vets candidates in batches (a metadata filter) and returns those kept.
   *
   * Term at a time with MaxScore-style early termination (Turtle & Flood, 1995): terms go in
   * order of their largest possible contribution, w·idf·(k1 + 1); once the k-th best score so
   * far reaches what all the terms left could add, no chunk not yet seen can enter the top k,
   * so the long, low-IDF lists (RM3's common expansion terms) are not walked: the chunks that
   * can still make it look their frequencies up in them by binary search. Exact.
   */
  search(
    query: ReadonlyMap<string, number>,
    k: number,
    accept?: (chunkIds: number[]) => ReadonlySet<number>,
  ): ScoredChunk[] {
    if (k <= 0 || this.slotOf.size === 0) return [];
    if (this.accumulators.length < this.slots) {
      this.accumulators = new Float64Array(this.chunkIds.length);
    }
    const accumulators = this.accumulators;
    const { k1, b } = this.options.bm25;
    const averageLength = this.averageLength > 0 ? this.averageLength : 1;
    const base = k1 * (1 - b);
    const perLength = (k1 * b) / averageLength;
    const lengths = this.lengths;
    const documents = Math.max(this.slotOf.size, 1);
    const plan: { list: Postings; factor: number }[] = [];
    for (const [term, weight] of query) {
      const list = this.postings.get(term);
      if (!list || !(weight > 0)) continue;
      const df = Math.min(list.documentFrequency, documents);
      plan.push({ list, factor: weight * bm25Idf(df, documents) * (k1 + 1) });
    }
    // the largest contribution first; a term's is below its factor (tf / (tf + norm) < 1)
    plan.sort((x, y) => y.factor - x.factor);
    let rest = plan.reduce((sum, item) => sum + item.factor, 0);
    let best = 0;
    const touched: number[] = [];
    let walked = 0;
    for (; walked < plan.length; walked++) {
      // cheap necessary condition first: the k-th best is at most the best
      if (!accept && touched.length >= k && rest <= best && rest <= this.kthBest(touched, k)) {
        break;
      }
      const { list, factor } = plan[walked] as { list: Postings; factor: number };
      const { slots, frequencies, size } = list;
      for (let index = 0; index < size; index++) {
        const slot = slots[index] as number;
        const tf = frequencies[index] as number;
        const previous = accumulators[slot] as number;
        if (previous === 0) touched.push(slot);
        // every term scores > 0 (positive weight, IDF and tf), so 0 means not yet touched
        const score =
          previous + (factor * tf) / (tf + base + perLength * (lengths[slot] as number));
        accumulators[slot] = score;
        if (score > best) best = score;
      }
      rest -= factor;
    }
    this.lastWalk = { walked, terms: plan.length };
    let candidates = touched;
    if (walked < plan.length) {
      // chunks that might still reach the k-th best score; each list left narrows them more
      const threshold = this.kthBest(touched, k);
      candidates = touched.filter((slot) => (accumulators[slot] as number) + rest >= threshold);
      for (const { list, factor } of plan.slice(walked)) {
        for (const slot of candidates) {
          const at = list.find(slot);
          if (at < 0) continue;
          const tf = list.frequencies[at] as number;
          accumulators[slot] =
            (accumulators[slot] as number) +
            (factor * tf) / (tf + base + perLength * (lengths[slot] as number));
        }
        rest -= factor;
        candidates = candidates.filter(
          (slot) => (accumulators[slot] as number) + rest >= threshold,
        );
      }
    }
    let ranked: { slot: number; score: number }[];
    if (!accept) {
      const top = new TopK(k);
      for (const slot of candidates) {
        const score = accumulators[slot] as number;
        if ((this.chunkIds[slot] as number) >= 0 && score >= top.threshold) top.offer(score, slot);
      }
      ranked = top.drain();
    } else {
      ranked = [];
      const all = candidates
        .filter((slot) => (this.chunkIds[slot] as number) >= 0)
        .map((slot) => ({ slot, score: accumulators[slot] as number }));
      all.sort((x, y) => y.score - x.score || x.slot - y.slot);
      const batch = Math.max(1024, 4 * k);
      for (let start = 0; start < all.length && ranked.length < k; start += batch) {
        const page = all.slice(start, start + batch);
        const kept = accept(page.map((item) => this.chunkIds[item.slot] as number));
        for (const item of page) {
          if (ranked.length < k && kept.has(this.chunkIds[item.slot] as number)) ranked.push(item);
        }
      }
    }
    for (const slot of touched) accumulators[slot] = 0;
    return ranked.map(({ slot, score }) => ({ chunkId: this.chunkIds[slot] as number, score }));
  }

  /** The k-th best accumulated score among live touched slots (−∞ when fewer). */
  private kthBest(touched: readonly number[], k: number): number {
    const top = new TopK(k);
    for (const slot of touched) {
      if ((this.chunkIds[slot] as number) < 0) continue;
      const score = this.accumulators[slot] as number;
      if (score > top.threshold) top.offer(score, slot);
    }
    return top.size < k ? Number.NEGATIVE_INFINITY : top.threshold;
  }
}
