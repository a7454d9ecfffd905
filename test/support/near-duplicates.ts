import { seededRandom } from "./seeded-random.ts";

/**
 * A corpus of near-duplicate records, the shape that leaves points of an HNSW graph unreachable:
 * one template, each record with its own number and marker token. Deterministic per seed.
 */
export interface NearDuplicateRecord {
  id: string;
  text: string;
  /** The record's own first words, which exact cosine ranks first for it. */
  query: string;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** `count` records "Record i carries the marker zq…xv and some filler prose…". */
export function nearDuplicateRecords(
  count: number,
  seed: number,
  first = 0,
): NearDuplicateRecord[] {
  const random = seededRandom(seed);
  const records: NearDuplicateRecord[] = [];
  const markers = new Set<string>();
  for (let i = first; i < first + count; i++) {
    let marker = "";
    do {
      marker = "zq";
      for (let j = 0; j < 6; j++) marker += LETTERS[Math.floor(random() * LETTERS.length)];
      marker += "xv";
    } while (markers.has(marker));
    markers.add(marker);
    const query = `Record ${i} carries the marker ${marker}`;
    records.push({
      id: `record-${i}`,
      text: `${query} and some filler prose that every record shares, about the weather, the harbour and the quiet town.`,
      query,
    });
  }
  return records;
}

/** The seed a randomised test uses: GLEANER_RECALL_SEED when set, else a fresh one. */
export function recallSeed(): number {
  const fixed = process.env.GLEANER_RECALL_SEED;
  return fixed !== undefined && fixed !== "" ? Number(fixed) : Math.floor(Math.random() * 2 ** 31);
}
