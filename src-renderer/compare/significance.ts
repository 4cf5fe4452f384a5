/**
 * When is one run better than another? Each run's test error comes with a
 * 95% interval (normal approximation, e ± 1.96·√(e(1−e)/m)); we call A better
 * than B only when A's upper bound is below B's lower bound. Overlapping
 * intervals mean the test set cannot tell them apart: the statement says so
 * rather than crowning the smaller number. (Non-overlap of two 95% intervals
 * is a conservative test: it errs toward "not significant".)
 */
export interface ErrorWithCi {
  name: string;
  testError: number;
  ci: [number, number];
}

export type Verdict = { kind: 'better'; winner: ErrorWithCi; loser: ErrorWithCi } | { kind: 'not-significant'; a: ErrorWithCi; b: ErrorWithCi };

export function compareRuns(a: ErrorWithCi, b: ErrorWithCi): Verdict {
  if (a.ci[1] < b.ci[0]) return { kind: 'better', winner: a, loser: b };
  if (b.ci[1] < a.ci[0]) return { kind: 'better', winner: b, loser: a };
  return { kind: 'not-significant', a, b };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const interval = (r: ErrorWithCi): string => `${pct(r.testError)} [${pct(r.ci[0])}, ${pct(r.ci[1])}]`;

/** One sentence a reader can act on. */
export function verdictText(v: Verdict): string {
  if (v.kind === 'better') {
    return `${v.winner.name} is significantly better than ${v.loser.name}: test error ${interval(v.winner)} vs ${interval(v.loser)} — its 95% upper bound is below the other's lower bound.`;
  }
  return `No significant difference between ${v.a.name} and ${v.b.name}: test error ${interval(v.a)} vs ${interval(v.b)} — the 95% intervals overlap, so the test set cannot tell them apart.`;
}

/** Every pair of runs, in the order given. */
export function pairwiseVerdicts(runs: ErrorWithCi[]): Verdict[] {
  const out: Verdict[] = [];
  for (let i = 0; i < runs.length; i++) for (let j = i + 1; j < runs.length; j++) out.push(compareRuns(runs[i], runs[j]));
  return out;
}
