import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, gaussian, log, seededRandom } from "./common.ts";

export const DIMENSIONS = 256;
export const CLUSTERS = 1000;
export const QUERIES = 1000;
export const K = 10;
const SEED = 20_261_125;

/** Base vectors, held-out queries and exact top-k ids of each query (row-major). */
export interface Dataset {
  n: number;
  dimensions: number;
  base: Float32Array;
  queries: Float32Array;
  truth: Int32Array;
}

interface Clusters {
  centers: Float32Array;
  /** Per-cluster, per-dimension spread: anisotropic like real embeddings. */
  spreads: Float32Array;
}

function makeClusters(): Clusters {
  const normal = gaussian(seededRandom(SEED));
  const random = seededRandom(SEED + 1);
  const centers = new Float32Array(CLUSTERS * DIMENSIONS);
  const spreads = new Float32Array(CLUSTERS * DIMENSIONS);
  for (let c = 0; c < CLUSTERS; c++) {
    for (let d = 0; d < DIMENSIONS; d++) {
      centers[c * DIMENSIONS + d] = normal() / Math.sqrt(DIMENSIONS);
      // a few dominant directions per cluster, most of them narrow
      spreads[c * DIMENSIONS + d] = (0.02 + 0.12 * random() ** 3) * (random() < 0.05 ? 3 : 1);
    }
  }
  return { centers, spreads };
}

/** Unit vectors drawn around random cluster centres; the stream is a prefix for every n. */
function draw(count: number, seed: number, clusters: Clusters): Float32Array {
  const normal = gaussian(seededRandom(seed));
  const pick = seededRandom(seed + 7);
  const out = new Float32Array(count * DIMENSIONS);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(pick() ** 1.5 * CLUSTERS); // uneven cluster sizes
    let norm = 0;
    for (let d = 0; d < DIMENSIONS; d++) {
      const value =
        (clusters.centers[c * DIMENSIONS + d] as number) +
        normal() * (clusters.spreads[c * DIMENSIONS + d] as number);
      out[i * DIMENSIONS + d] = value;
      norm += value * value;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < DIMENSIONS; d++) {
      out[i * DIMENSIONS + d] = (out[i * DIMENSIONS + d] as number) * scale;
    }
  }
  return out;
}

/** Exact top-k by inner product for each query: the brute force every recall is measured against. */
export function bruteForce(base: Float32Array, queries: Float32Array, k: number): Int32Array {
  const n = base.length / DIMENSIONS;
  const q = queries.length / DIMENSIONS;
  const truth = new Int32Array(q * k);
  const bestIds = new Int32Array(k);
  const bestScores = new Float64Array(k);
  for (let qi = 0; qi < q; qi++) {
    bestScores.fill(-Infinity);
    bestIds.fill(-1);
    const offset = qi * DIMENSIONS;
    for (let i = 0; i < n; i++) {
      const row = i * DIMENSIONS;
      let score = 0;
      for (let d = 0; d < DIMENSIONS; d++) {
        score += (queries[offset + d] as number) * (base[row + d] as number);
      }
      if (score <= (bestScores[k - 1] as number)) continue;
      let j = k - 1;
      while (j > 0 && (bestScores[j - 1] as number) < score) {
        bestScores[j] = bestScores[j - 1] as number;
        bestIds[j] = bestIds[j - 1] as number;
        j--;
      }
      bestScores[j] = score;
      bestIds[j] = i;
    }
    truth.set(bestIds, qi * k);
  }
  return truth;
}

function readCached<T extends Float32Array | Int32Array>(
  path: string,
  make: () => T,
  wrap: (buffer: ArrayBuffer) => T,
): T {
  if (existsSync(path)) {
    const bytes = readFileSync(path);
    const copy = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(copy).set(bytes);
    return wrap(copy);
  }
  const value = make();
  writeFileSync(path, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  return value;
}

/** The dataset of size n, generated once and cached with its ground truth under bench/.cache. */
export function loadDataset(n: number): Dataset {
  const directory = cacheDir("vectors");
  let clusters: Clusters | null = null;
  const lazyClusters = () => {
    clusters ??= makeClusters();
    return clusters;
  };
  const base = readCached(
    join(directory, `base-${n}-d${DIMENSIONS}-s${SEED}.f32`),
    () => {
      log(`generating ${n} vectors`);
      return draw(n, SEED + 100, lazyClusters());
    },
    (buffer) => new Float32Array(buffer),
  );
  const queries = readCached(
    join(directory, `queries-${QUERIES}-d${DIMENSIONS}-s${SEED}.f32`),
    () => draw(QUERIES, SEED + 200, lazyClusters()),
    (buffer) => new Float32Array(buffer),
  );
  const truth = readCached(
    join(directory, `truth-${n}-k${K}-s${SEED}.i32`),
    () => {
      log(`computing exact top-${K} for ${QUERIES} queries over ${n} vectors (cached afterwards)`);
      const started = performance.now();
      const result = bruteForce(base, queries, K);
      log(`ground truth took ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return result;
    },
    (buffer) => new Int32Array(buffer),
  );
  return { n, dimensions: DIMENSIONS, base, queries, truth };
}

/** The i-th row of a row-major matrix, without copying. */
export function row(matrix: Float32Array, i: number): Float32Array {
  return matrix.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS);
}

/** Mean fraction of the true top-k found, over all queries. */
export function recallAt(truth: Int32Array, found: Int32Array[], k: number): number {
  let hits = 0;
  found.forEach((ids, qi) => {
    const expected = new Set(truth.subarray(qi * k, (qi + 1) * k));
    for (const id of ids.subarray(0, k)) if (expected.has(id)) hits++;
  });
  return hits / (found.length * k);
}
