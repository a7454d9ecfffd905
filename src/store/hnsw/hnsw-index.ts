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
  efSearch: 64,
  seed: 100,
};

/** What is written beside the index file; an index without a matching sidecar is not trusted. */
interface IndexSidecar {
  format: 1;
  dimensions: number;
  generation: number;
  bytes: number;
  sha256: string;
}

export interface LabelScore {
  label: number;
  score: number;
}

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

  private constructor(parameters: HnswParameters, graph: hnswlib.HierarchicalNSW, live: number) {
    this.parameters = parameters;
    this.graph = graph;
    this.live = live;
    this.scratch = new Array<number>(parameters.dimensions).fill(0);
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
  ): Promise<{ index: HnswIndex; generation: number } | null> {
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
    return { index, generation: sidecar.generation };
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

  /** Adds (or replaces) the vector under `label`. */
  add(label: number, vector: Float32Array): void {
    if (this.graph.getCurrentCount() >= this.graph.getMaxElements()) {
      this.graph.resizeIndex(Math.ceil(this.graph.getMaxElements() * 1.5) + 16);
    }
    this.graph.addPoint(this.toScratch(vector), label, true);
    this.live++;
  }

  /** Marks the label deleted; unknown labels are ignored. */
  remove(label: number): void {
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
    const ef = Math.max(options.ef ?? this.parameters.efSearch, k);
    if (ef !== this.currentEf) {
      this.graph.setEf(ef);
      this.currentEf = ef;
    }
    const result = this.graph.searchKnn(
      this.toScratch(vector),
      Math.min(k, this.live),
      options.filter,
    );
    const { neighbors, distances } = result;
    const out: LabelScore[] = new Array(neighbors.length);
    for (let i = 0; i < neighbors.length; i++) {
      out[i] = { label: neighbors[i] as number, score: 1 - (distances[i] as number) };
    }
    return out;
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
