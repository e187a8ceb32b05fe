/**
 * The baselines the examples measure themselves against, computed in the example on the same
 * split: a multinomial Naive Bayes over bags of features (words for spam, character 1-3-grams
 * for names) and the seasonal-naive forecast. Each is the textbook definition, with its unit test
 * on a hand-computed case in lib-baselines.test.ts.
 */

/**
 * Multinomial Naive Bayes with Laplace (add-alpha) smoothing (Manning, Raghavan & Schütze,
 * "Introduction to Information Retrieval", section 13.2):
 *
 *   score(c | d) = log P(c) + Σ_{f in d} count(f, d) · log P(f | c)
 *   P(c)     = (documents of class c) / (documents)
 *   P(f | c) = (count(f, c) + alpha) / (Σ_f' count(f', c) + alpha · |V|)
 *
 * V is the vocabulary of the training documents; a feature never seen in training is skipped.
 */
export class NaiveBayes {
  readonly labels: string[];
  private readonly logPrior: number[];
  /** per class: feature -> log P(f | c) */
  private readonly logLik: Map<string, number>[];
  /** per class: log P(f | c) of a feature seen in training, but not in this class */
  private readonly logUnseen: number[];
  private readonly vocab: Set<string>;

  constructor(docs: readonly (readonly string[])[], gold: readonly string[], alpha = 1) {
    this.labels = [...new Set(gold)].sort();
    const C = this.labels.length;
    const counts = this.labels.map(() => new Map<string, number>());
    const totals = new Array<number>(C).fill(0), docsOf = new Array<number>(C).fill(0);
    this.vocab = new Set();
    docs.forEach((d, i) => {
      const c = this.labels.indexOf(gold[i]);
      docsOf[c]++;
      for (const f of d) {
        counts[c].set(f, (counts[c].get(f) ?? 0) + 1);
        totals[c]++;
        this.vocab.add(f);
      }
    });
    const V = this.vocab.size;
    this.logPrior = docsOf.map((n) => Math.log(n / docs.length));
    this.logUnseen = totals.map((t) => Math.log(alpha / (t + alpha * V)));
    this.logLik = counts.map((m, c) => {
      const out = new Map<string, number>();
      for (const [f, n] of m) out.set(f, Math.log((n + alpha) / (totals[c] + alpha * V)));
      return out;
    });
  }

  /** log P(c) + Σ log P(f | c) per class, in the order of `labels` (unnormalised). */
  scores(doc: readonly string[]): number[] {
    const s = [...this.logPrior];
    for (const f of doc) {
      if (!this.vocab.has(f)) continue;
      for (let c = 0; c < s.length; c++) s[c] += this.logLik[c].get(f) ?? this.logUnseen[c];
    }
    return s;
  }

  predict(doc: readonly string[]): string {
    const s = this.scores(doc);
    let best = 0;
    for (let c = 1; c < s.length; c++) if (s[c] > s[best]) best = c;
    return this.labels[best];
  }
}

/** The lowercased words of a text (runs of letters, digits and apostrophes), as the word tokenizer splits them. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

/**
 * The character n-grams of a word, n = lo..hi, with "^" and "$" marking its start and end (so
 * that "ann" gives the bigram "n$": names are told apart by their endings).
 */
export function charNgrams(word: string, lo = 1, hi = 3): string[] {
  const s = `^${word.toLowerCase()}$`;
  const out: string[] = [];
  for (let n = lo; n <= hi; n++) for (let i = 0; i + n <= s.length; i++) {
    const g = s.slice(i, i + n);
    if (g !== "^" && g !== "$") out.push(g);
  }
  return out;
}

/**
 * The seasonal-naive forecast (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice",
 * section 5.2): ŷ_t = y_{t - period}. Entry t is null where t < period.
 */
export function seasonalNaive(series: readonly number[], period: number): (number | null)[] {
  return series.map((_, t) => (t >= period ? series[t - period] : null));
}
