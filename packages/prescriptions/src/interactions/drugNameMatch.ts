/**
 * Finding a drug's name in free medication text ("Simvastatin 20 MG Oral Tablet", "Amiodarone hydrocholoride
 * 50 MG/ML"), for knowledge that lists drugs by name only. Text and names are folded (case, accents,
 * punctuation) into words; a name matches where its words appear consecutively. Misspellings are tolerated
 * conservatively: one edit (insertion, deletion, substitution or transposition) against a single-word name of at
 * least 8 letters, and only against a word of at least 8 letters — short names differ by one letter too often
 * (e.g. a different drug). Names of fewer than 3 letters never match.
 */

export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[’']/g, '')
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/** Optimal string alignment distance, bounded: returns `max + 1` as soon as the distance exceeds `max`. */
export function editDistance(a: string, b: string, max = 1): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const prev2: number[] = new Array(b.length + 1).fill(0);
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
    prev2.splice(0, prev2.length, ...prev);
    prev = cur;
  }
  return prev[b.length]!;
}

export const FUZZY_MIN_LETTERS = 8;

export interface NameMatch {
  /** The words of the text that matched. */
  found: string;
  /** True when the match needed the one-edit tolerance. */
  fuzzy: boolean;
}

/** A medication's texts prepared once for many name lookups. */
export interface TextIndex {
  words: readonly string[];
  set: ReadonlySet<string>;
  /** Words of letters only, long enough for the misspelling tolerance. */
  long: readonly string[];
}

/** Texts are kept apart: a name of several words never spans two texts. */
export function indexTexts(texts: readonly string[]): TextIndex {
  const all = texts.flatMap((t) => [...words(t), '\u0000']);
  return {
    words: all,
    set: new Set(all),
    long: [...new Set(all.filter((w) => w.length >= FUZZY_MIN_LETTERS && /^[a-z]+$/.test(w)))],
  };
}

/** Where `name` (already split into words) occurs in the text, exactly or (single long words) within one edit. */
export function matchNameIn(nameWords: readonly string[], text: TextIndex): NameMatch | undefined {
  const [first] = nameWords;
  if (first === undefined || nameWords.join('').length < 3) return undefined;
  if (nameWords.length === 1) {
    if (text.set.has(first)) return { found: first, fuzzy: false };
    if (first.length < FUZZY_MIN_LETTERS) return undefined;
    for (const w of text.long) {
      if (Math.abs(w.length - first.length) <= 1 && editDistance(first, w) === 1)
        return { found: w, fuzzy: true };
    }
    return undefined;
  }
  if (!text.set.has(first)) return undefined;
  const all = text.words;
  for (let i = 0; i + nameWords.length <= all.length; i++) {
    if (nameWords.every((w, k) => all[i + k] === w)) {
      return { found: all.slice(i, i + nameWords.length).join(' '), fuzzy: false };
    }
  }
  return undefined;
}

/** matchNameIn over one text's words. */
export function matchName(nameWords: readonly string[], textWords: readonly string[]): NameMatch | undefined {
  return matchNameIn(nameWords, indexTexts([textWords.join(' ')]));
}
