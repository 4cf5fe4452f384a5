/** Per-channel mean and standard deviation on the 0–255 scale, and class counts. */

export function channelStats(images: Uint8Array, channels: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  // Integer sums per channel in chunks keep this exact and fast (no float rounding per pixel).
  const n = images.length / channels;
  for (let c = 0; c < channels; c++) {
    let s = 0;
    let q = 0;
    for (let i = c; i < images.length; i += channels) {
      const v = images[i];
      s += v;
      q += v * v;
    }
    sum[c] = s;
    sumSq[c] = q;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = n > 0 ? sum[c] / n : 0;
    mean.push(m);
    std.push(n > 0 ? Math.sqrt(Math.max(0, sumSq[c] / n - m * m)) : 0);
  }
  return { mean, std };
}

export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}
