import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import hnswlib from "hnswlib-node";
import { ExactVectors, type LabelScore, TopK } from "../exact-vectors.ts";

export type { LabelScore } from "../exact-vectors.ts";

export interface HnswParameters {
  dimensions: number;
  m: number;
  efConstruction: number;
  efSearch: number;
  seed: number;
}

export const DEFAULT_HNSW: Omit<HnswParameters, "dimensions"> = {
  m: 16,
  efConstruction: 200,
  // 64 -> 128: recall@10 against exact 0.973 -> 0.996 on NPL, 0.962 -> 0.989 on 20k
  // near-duplicates, for about 1.5x the graph's query time (BENCHMARKS.md, section 7); small
  // collections are scanned exactly and never reach the graph
  efSearch: 128,
  seed: 100,
};

/** What is written beside the index file; an index without a matching sidecar is not trusted. */
interface IndexSidecar {
  format: 1;
  dimensions: number;
  generation: number;
  bytes: number;
  sha256: string;
  /** Labels the graph search does not return for their own vector (absent in old sidecars). */
  orphans?: number[];
}

/**
 * A label counts as well linked when a narrow search (ef 20) for its own vector returns it among
 * the first 10. On near-duplicates, points found only by a broad search are also missed by
 * queries near them; ef 20 rather than the query-time 64 halves those misses (BENCHMARKS.md).
 */
const VERIFY_K = 10;
const VERIFY_EF = 20;

const INITIAL_CAPACITY = 1024;

/**
 * One collection's HNSW graph over unit vectors (inner-product space). Labels are chunk ids.
 * The file on disk is a cache of what SQLite holds, written atomically with a checksummed sidecar.
 */
export class HnswIndex {
  readonly parameters: HnswParameters;
  private readonly graph: hnswlib.HierarchicalNSW;
  private live: number;
  /** Reused for every call into hnswlib, which accepts only plain arrays. */
  private readonly scratch: number[];
  /** The ef last handed to hnswlib; setting it only on change saves a native call per search. */
  private currentEf = -1;
  /**
   * Vectors the graph does not lead to: hnswlib's neighbour pruning leaves some near-duplicates
   * without in-links, so no search can reach them. They are scanned exactly on every search.
   */
  private readonly orphans: ExactVectors;
  /** Labels still to re-check by `sweep`, and where the sweep is. */
  private sweepLabels: number[] = [];
  private sweepAt = 0;

  private constructor(parameters: HnswParameters, graph: hnswlib.HierarchicalNSW, live: number) {
    this.parameters = parameters;
    this.graph = graph;
    this.live = live;
    this.scratch = new Array<number>(parameters.dimensions).fill(0);
    this.orphans = new ExactVectors(parameters.dimensions, 16);
  }

  /** An empty index. */
  static create(parameters: HnswParameters, capacity = INITIAL_CAPACITY): HnswIndex {
    const graph = new hnswlib.HierarchicalNSW("ip", parameters.dimensions);
    graph.initIndex({
      maxElements: Math.max(capacity, 16),
      m: parameters.m,
      efConstruction: parameters.efConstruction,
      randomSeed: parameters.seed,
      allowReplaceDeleted: true,
    });
    return new HnswIndex(parameters, graph, 0);
  }

  /**
   * Loads a saved index if its sidecar matches the file and the dimensions; null when missing,
   * corrupt or foreign (the caller rebuilds from SQLite). `generation` says how current it is.
   */
  static async load(
    path: string,
    parameters: HnswParameters,
  ): Promise<{ index: HnswIndex; generation: number; verified: boolean } | null> {
    const sidecar = readSidecar(path);
    if (!sidecar || sidecar.dimensions !== parameters.dimensions || !existsSync(path)) return null;
    if (statSync(path).size !== sidecar.bytes) return null;
    // hnswlib reads the graph on a libuv thread while this one hashes the file: at 1M vectors
    // the two take ~9 s and ~2 s, and the event loop stays free. The graph is used only once
    // the checksum matches.
    const graph = new hnswlib.HierarchicalNSW("ip", parameters.dimensions);
    const [checksum, read] = await Promise.all([
      fileSha256(path),
      graph.readIndex(path, true).then(
        () => true,
        () => false,
      ),
    ]);
    if (checksum.bytes !== sidecar.bytes || checksum.sha256 !== sidecar.sha256) return null;
    if (!read) return null;
    if (graph.getNumDimensions() !== parameters.dimensions) return null;
    const index = new HnswIndex(parameters, graph, graph.getCurrentCount());
    for (const label of sidecar.orphans ?? []) {
      const vector = index.vectorOf(label);
      if (vector) index.orphans.set(label, vector);
    }
    return { index, generation: sidecar.generation, verified: sidecar.orphans !== undefined };
  }

  /** Labels the graph holds, including ones marked deleted. */
  storedLabels(): number[] {
    return this.graph.getIdsList();
  }

  get size(): number {
    return this.live;
  }

  /** Corrects the live count after reconciling a loaded graph with the source of truth. */
  setLiveCount(count: number): void {
    this.live = count;
  }

  /** Vectors kept in the exact side list because the graph does not reach them. */
  get orphanCount(): number {
    return this.orphans.size;
  }

  /** Adds (or replaces) the vector under `label`; `verify` it once the batch is in. */
  add(label: number, vector: Float32Array): void {
    if (this.graph.getCurrentCount() >= this.graph.getMaxElements()) {
      this.graph.resizeIndex(Math.ceil(this.graph.getMaxElements() * 1.5) + 16);
    }
    this.graph.addPoint(this.toScratch(vector), label, true);
    this.orphans.delete(label);
    this.live++;
  }

  /**
   * Checks that a graph search for each label's own vector returns it. One that is missed is
   * inserted again (hnswlib then re-selects its neighbours and theirs, which gives most of them
   * in-links); one still missed goes to the exact side list, so it is never lost.
   */
  verify(labels: Iterable<number>): void {
    for (const label of labels) {
      const vector = this.vectorOf(label);
      if (!vector) {
        this.orphans.delete(label);
        continue;
      }
      if (this.graphFinds(label, vector)) {
        this.orphans.delete(label);
        continue;
      }
      this.graph.addPoint(this.toScratch(vector), label, false);
      if (this.graphFinds(label, vector)) this.orphans.delete(label);
      else this.orphans.set(label, vector);
    }
  }

  /** Verifies every label (after a build, a reload without a verified sidecar, a re-index). */
  verifyAll(): void {
    this.verify(this.storedLabels());
    this.sweepLabels = [];
    this.sweepAt = 0;
  }

  /**
   * Verifies the next `count` labels in a cycle over the whole graph. A new point can prune an
   * older point's in-links; calling this with a multiple of each batch's size re-checks every
   * point each time the graph grows by a fraction of its size.
   */
  sweep(count: number): void {
    let left = count;
    while (left > 0) {
      if (this.sweepAt >= this.sweepLabels.length) {
        this.sweepLabels = this.storedLabels();
        this.sweepAt = 0;
        if (this.sweepLabels.length === 0) return;
      }
      const end = Math.min(this.sweepLabels.length, this.sweepAt + left);
      this.verify(this.sweepLabels.slice(this.sweepAt, end));
      left -= end - this.sweepAt;
      this.sweepAt = end;
    }
  }

  /** Marks the label deleted; unknown labels are ignored. */
  remove(label: number): void {
    this.orphans.delete(label);
    try {
      this.graph.markDelete(label);
      this.live = Math.max(0, this.live - 1);
    } catch {
      // already deleted or never added: nothing to do
    }
  }

  /** Nearest labels by inner product, best first; `filter` admits labels during the walk. */
  search(
    vector: Float32Array,
    k: number,
    options: { ef?: number | undefined; filter?: ((label: number) => boolean) | undefined } = {},
  ): LabelScore[] {
    if (this.live === 0 || k <= 0) return [];
    const found = this.searchGraph(vector, k, options.ef, options.filter);
    if (this.orphans.size === 0) return found;
    const top = new TopK(k);
    const seen = new Set<number>();
    for (const hit of [...found, ...this.orphans.search(vector, k, options.filter)]) {
      if (seen.has(hit.label)) continue;
      seen.add(hit.label);
      top.offer(hit.label, hit.score);
    }
    return top.sorted();
  }

  private searchGraph(
    vector: Float32Array,
    k: number,
    efOption: number | undefined,
    filter: ((label: number) => boolean) | undefined,
  ): LabelScore[] {
    const ef = Math.max(efOption ?? this.parameters.efSearch, k);
    if (ef !== this.currentEf) {
      this.graph.setEf(ef);
      this.currentEf = ef;
    }
    const result = this.graph.searchKnn(this.toScratch(vector), Math.min(k, this.live), filter);
    const { neighbors, distances } = result;
    const out: LabelScore[] = new Array(neighbors.length);
    for (let i = 0; i < neighbors.length; i++) {
      out[i] = { label: neighbors[i] as number, score: 1 - (distances[i] as number) };
    }
    return out;
  }

  private graphFinds(label: number, vector: Float32Array): boolean {
    if (this.live === 0) return false;
    return this.searchGraph(vector, VERIFY_K, VERIFY_EF, undefined).some(
      (hit) => hit.label === label,
    );
  }

  /** The stored vector of a live label; null when deleted or unknown. */
  private vectorOf(label: number): Float32Array | null {
    try {
      return Float32Array.from(this.graph.getPoint(label));
    } catch {
      return null;
    }
  }

  /** Writes the graph and its sidecar atomically (temp files, then rename). */
  async save(path: string, generation: number): Promise<void> {
    const temporary = `${path}.tmp`;
    this.graph.writeIndexSync(temporary);
    const checksum = await fileSha256(temporary);
    const sidecar: IndexSidecar = {
      format: 1,
      dimensions: this.parameters.dimensions,
      generation,
      bytes: checksum.bytes,
      sha256: checksum.sha256,
      orphans: this.orphans.labelList(),
    };
    rmSync(sidecarPath(path), { force: true });
    renameSync(temporary, path);
    writeFileSync(`${sidecarPath(path)}.tmp`, JSON.stringify(sidecar));
    renameSync(`${sidecarPath(path)}.tmp`, sidecarPath(path));
  }

  private toScratch(vector: Float32Array): number[] {
    const scratch = this.scratch;
    for (let i = 0; i < scratch.length; i++) scratch[i] = vector[i] as number;
    return scratch;
  }
}

/** Removes an index file and its sidecar. */
export function removeIndexFiles(path: string): void {
  for (const file of [path, `${path}.tmp`, sidecarPath(path), `${sidecarPath(path)}.tmp`]) {
    rmSync(file, { force: true });
  }
}

function sidecarPath(path: string): string {
  return `${path}.meta.json`;
}

function readSidecar(path: string): IndexSidecar | null {
  try {
    const parsed = JSON.parse(readFileSync(sidecarPath(path), "utf8")) as Partial<IndexSidecar>;
    if (
      parsed.format !== 1 ||
      typeof parsed.dimensions !== "number" ||
      typeof parsed.generation !== "number" ||
      typeof parsed.bytes !== "number" ||
      typeof parsed.sha256 !== "string"
    ) {
      return null;
    }
    return parsed as IndexSidecar;
  } catch {
    return null;
  }
}

async function fileSha256(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const piece of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    const buffer = piece as Buffer;
    bytes += buffer.length;
    hash.update(buffer);
  }
  return { bytes, sha256: hash.digest("hex") };
}
