/**
 * Largest-Triangle-Three-Buckets down-sampling (Steinarsson 2013, "Downsampling
 * Time Series for Visual Representation", ch. 4): keeps the shape of a long
 * curve in `threshold` points so charts stay cheap to draw.
 *
 * The first and last points are always kept. Plain LTTB usually keeps spikes
 * but does not promise to; a loss curve's single worst or best value matters
 * to the reader, so the bucket holding the global minimum (and the one holding
 * the global maximum) keeps that point instead of its triangle winner. When
 * both share a bucket, both are kept (threshold + 1 points).
 *
 * Non-finite values (a diverged loss) never win a bucket on area; they are kept
 * only if a whole bucket is non-finite.
 */

/** Indices (increasing) of the points LTTB keeps. */
export function lttbIndices(xs: ArrayLike<number>, ys: ArrayLike<number>, threshold: number): number[] {
  const n = Math.min(xs.length, ys.length);
  if (threshold >= n || n <= 2) return Array.from({ length: n }, (_, i) => i);
  if (threshold < 3) return [0, n - 1];

  let iMin = -1;
  let iMax = -1;
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) continue;
    if (iMin < 0 || y < ys[iMin]) iMin = i;
    if (iMax < 0 || y > ys[iMax]) iMax = i;
  }

  const out: number[] = [0];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let b = 0; b < threshold - 2; b++) {
    const start = Math.floor(b * every) + 1;
    const end = Math.min(Math.floor((b + 1) * every) + 1, n - 1);
    // Average of the next bucket (the last point for the final bucket).
    const nStart = end;
    const nEnd = Math.min(Math.floor((b + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    let cnt = 0;
    for (let j = nStart; j < nEnd; j++) {
      if (!Number.isFinite(ys[j])) continue;
      avgX += xs[j];
      avgY += ys[j];
      cnt++;
    }
    if (cnt) {
      avgX /= cnt;
      avgY /= cnt;
    } else {
      avgX = xs[n - 1];
      avgY = Number.isFinite(ys[n - 1]) ? ys[n - 1] : ys[a];
    }

    const hasMin = iMin >= start && iMin < end;
    const hasMax = iMax >= start && iMax < end;
    if (hasMin || hasMax) {
      if (hasMin && hasMax && iMin !== iMax) out.push(Math.min(iMin, iMax), Math.max(iMin, iMax));
      else out.push(hasMin ? iMin : iMax);
      a = out[out.length - 1];
      continue;
    }

    const ax = xs[a];
    const ay = ys[a];
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const area = Math.abs((ax - avgX) * (ys[j] - ay) - (ax - xs[j]) * (avgY - ay));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(best);
    a = best;
  }
  out.push(n - 1);
  return out;
}

/** Down-samples [x, y] pairs (ECharts' data format). */
export function lttb(points: ReadonlyArray<readonly [number, number]>, threshold: number): Array<[number, number]> {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return lttbIndices(xs, ys, threshold).map((i) => [points[i][0], points[i][1]]);
}
