import { seededRandom } from "./common.ts";

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ren",
  "tas",
  "vo",
  "qui",
  "del",
  "nor",
  "pha",
  "sen",
  "tri",
  "gal",
  "mun",
  "bek",
  "zor",
  "fi",
  "lan",
  "cro",
  "wen",
  "dus",
  "ori",
  "pel",
  "sta",
  "ume",
  "yak",
  "hes",
  "ith",
];

/** A seeded vocabulary of pronounceable pseudo-words, most frequent first. */
export function vocabulary(size: number, seed = 7): string[] {
  const random = seededRandom(seed);
  const words = new Set<string>();
  while (words.size < size) {
    const parts = 1 + Math.floor(random() * 3);
    let word = "";
    for (let i = 0; i < parts; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

/** Zipf-distributed word ranks (exponent about 1), as in natural text. */
function zipfSampler(size: number, random: () => number): () => number {
  const cumulative = new Float64Array(size);
  let sum = 0;
  for (let rank = 0; rank < size; rank++) {
    sum += 1 / (rank + 1) ** 1.05;
    cumulative[rank] = sum;
  }
  return () => {
    const target = random() * sum;
    let low = 0;
    let high = size - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/**
 * Seeded synthetic documents (plain text, paragraphs of Zipfian pseudo-words) of about
 * `words` words each; the same seed always yields the same corpus.
 */
export function* syntheticDocuments(
  count: number,
  words: number,
  seed = 11,
): Generator<{ id: string; text: string }> {
  const vocab = vocabulary(20_000);
  const random = seededRandom(seed);
  const next = zipfSampler(vocab.length, random);
  for (let doc = 0; doc < count; doc++) {
    const paragraphs: string[] = [];
    let written = 0;
    while (written < words) {
      const sentences: string[] = [];
      for (let s = 0; s < 3 + Math.floor(random() * 4); s++) {
        const length = 8 + Math.floor(random() * 12);
        const sentence: string[] = [];
        for (let w = 0; w < length; w++) sentence.push(vocab[next()] as string);
        written += length;
        sentences.push(`${sentence.join(" ")}.`);
      }
      paragraphs.push(sentences.join(" "));
    }
    yield { id: `syn-${doc}`, text: paragraphs.join("\n\n") };
  }
}

/** Seeded search queries of 2–3 mid-frequency words from the synthetic vocabulary. */
export function syntheticQueries(count: number, seed = 13): string[] {
  const vocab = vocabulary(20_000);
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const length = 2 + Math.floor(random() * 2);
    return Array.from({ length }, () => vocab[20 + Math.floor(random() * 2000)]).join(" ");
  });
}
