// Highlighting is done here from the query's words, because search results carry offsets of
// the passage, not of the matched terms.

const WORD = /[\p{L}\p{N}]+/gu;
const STOPWORDS = new Set(
  "a an and are as at be by for from how in is it of on or that the this to was what when where which who why with".split(
    " ",
  ),
);

/**
 * The query's words reduced to stems that a matching word starts with.
 * @param {string} query
 * @returns {string[]}
 */
export function queryStems(query) {
  const stems = new Set();
  for (const match of query.toLowerCase().matchAll(WORD)) {
    const word = match[0];
    if (word.length < 2 || STOPWORDS.has(word)) continue;
    stems.add(stem(word));
  }
  return [...stems];
}

/** @param {string} word */
function stem(word) {
  const reduced = word.replace(/(ing|ed|es|s)$/, "");
  return reduced.length >= 3 ? reduced : word;
}

/**
 * Text as nodes, with words that start with one of the stems wrapped in <mark>.
 * @param {string} text
 * @param {string[]} stems
 * @returns {Node[]}
 */
export function markTerms(text, stems) {
  if (stems.length === 0) return [document.createTextNode(text)];
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(WORD)) {
    const word = match[0].toLowerCase();
    if (!stems.some((s) => word.startsWith(s))) continue;
    const index = match.index ?? 0;
    if (index > last) nodes.push(document.createTextNode(text.slice(last, index)));
    const mark = document.createElement("mark");
    mark.textContent = match[0];
    nodes.push(mark);
    last = index + match[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

/**
 * Where a quote occurs in a passage: exactly, or else ignoring case and runs of whitespace.
 * @param {string} text
 * @param {string} quote
 * @returns {{ start: number, end: number } | null}
 */
export function findQuote(text, quote) {
  const trimmed = quote.trim();
  if (!trimmed) return null;
  const exact = text.indexOf(trimmed);
  if (exact !== -1) return { start: exact, end: exact + trimmed.length };
  const pattern = trimmed
    .split(/\s+/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("\\s+");
  const match = new RegExp(pattern, "i").exec(text);
  return match ? { start: match.index, end: match.index + match[0].length } : null;
}

/**
 * A window of about `length` characters of the text around its first match of a stem, cut at
 * word boundaries, so long passages show the part that matched.
 * @param {string} text
 * @param {string[]} stems
 * @param {number} [length]
 * @returns {{ text: string, clipped: boolean }}
 */
export function excerpt(text, stems, length = 420) {
  if (text.length <= length * 1.2) return { text, clipped: false };
  let first = 0;
  for (const match of text.matchAll(WORD)) {
    const word = match[0].toLowerCase();
    if (stems.some((s) => word.startsWith(s))) {
      first = match.index ?? 0;
      break;
    }
  }
  let start = Math.max(0, first - Math.floor(length / 4));
  let end = Math.min(text.length, start + length);
  start = Math.max(0, end - length);
  if (start > 0) start = text.indexOf(" ", start) + 1 || start;
  if (end < text.length)
    end = text.lastIndexOf(" ", end) > start ? text.lastIndexOf(" ", end) : end;
  const body = text.slice(start, end).trim();
  return { text: `${start > 0 ? "… " : ""}${body}${end < text.length ? " …" : ""}`, clipped: true };
}
