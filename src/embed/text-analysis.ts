import type { EmbeddingPurpose } from "./embedding-model.ts";
import { stem } from "./stem.ts";

/*
 * The lexical analysis shared by the local embedder and keyword search: normalise, split into
 * words, drop stop words, stem. Han and kana characters have no spaces between words, so each
 * is a term of its own (adjacent-term bigrams then give the usual CJK bigrams); other
 * space-less scripts (Thai, Khmer) stay one term per run.
 */

// Stop words as they look after normalisation (lowercase, no apostrophes); contractions that
// spell real words (ill, shell, well, wed) are left out.
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    "a about above after again against all also am an and any are arent as at be because " +
    "been before being below between both but by can cannot cant could couldnt did didnt do " +
    "does doesnt doing dont down during each either etc few for from further had hadnt has " +
    "hasnt have havent having he hes her here heres hers herself him himself his how hows i " +
    "im ive if in into is isnt it its itself just lets may me might more most must mustnt my " +
    "myself no nor not of off on once only or other ought our ours ourselves out over own " +
    "per same shall shant she shes should shouldnt so some such than that thats the their " +
    "theirs them themselves then there theres these they theyd theyll theyre theyve this " +
    "those through thus to too under until up upon us very via was wasnt we were weve werent " +
    "what whats when whens where wheres whether which while who whos whom whose why whys " +
    "will with within without wont would wouldnt yet you youd youll youre youve your yours " +
    "yourself yourselves"
  ).split(" "),
);

// Words that phrase a request rather than name its topic; dropped from queries only.
const QUERY_STOP_WORDS: ReadonlySet<string> = new Set(
  "anyone concerning describe explain find information please regarding tell wondering".split(" "),
);

const COMBINING_MARKS = /\p{Mn}+/gu;
const INNER_APOSTROPHE = /(?<=[\p{L}\p{N}])['’](?=[\p{L}\p{N}])/gu;
// A decimal number, one Han or kana character, or a run of letters, digits and marks.
const WORD =
  /\p{N}+(?:\.\p{N}+)+|[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]|(?:(?![\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}])[\p{L}\p{N}\p{M}])+/gu;

/** Text folded for matching: NFKC (ﬁ → fi, full-width → ASCII), lowercase, accents stripped. */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .normalize("NFD")
    .replace(COMBINING_MARKS, "")
    .replace(INNER_APOSTROPHE, "")
    .normalize("NFC");
}

/** Index terms of a text, in order: normalised words minus stop words, stemmed (Porter). */
export function analyzeText(text: string, purpose: EmbeddingPurpose): string[] {
  const terms: string[] = [];
  for (const match of normalizeText(text).matchAll(WORD)) {
    const word = match[0];
    if (STOP_WORDS.has(word)) continue;
    if (purpose === "query" && QUERY_STOP_WORDS.has(word)) continue;
    terms.push(stem(word));
  }
  return terms;
}
