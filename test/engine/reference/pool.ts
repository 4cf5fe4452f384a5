/**
 * CPU reference pooling (float64, tests only), PyTorch semantics (floor mode):
 * max pooling with −∞ padding, average pooling with countIncludePad,
 * adaptive average pooling with bins ⌊i·H/oh⌋ .. ⌈(i+1)·H/oh⌉.
 */
export interface PoolRefOpts {
  kernel: [number, number];
  stride?: [number, number];
  padding?: [number, number];
  countIncludePad?: boolean;
}

export function poolOutSize(H: number, W: number, o: PoolRefOpts): [number, number] {
  const [kH, kW] = o.kernel;
  const [sH, sW] = o.stride ?? o.kernel;
  const [pH, pW] = o.padding ?? [0, 0];
  return [Math.floor((H + 2 * pH - kH) / sH) + 1, Math.floor((W + 2 * pW - kW) / sW) + 1];
}

/** Max pooling; also returns the argmax (ih·W + iw, first maximum in scan order). */
export function maxPoolRef(x: ArrayLike<number>, shape: readonly number[], o: PoolRefOpts): { y: Float64Array; arg: Int32Array } {
  const [N, C, H, W] = shape;
  const [kH, kW] = o.kernel;
  const [sH, sW] = o.stride ?? o.kernel;
  const [pH, pW] = o.padding ?? [0, 0];
  const [Ho, Wo] = poolOutSize(H, W, o);
  const y = new Float64Array(N * C * Ho * Wo);
  const arg = new Int32Array(y.length);
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let kh = 0; kh < kH; kh++)
          for (let kw = 0; kw < kW; kw++) {
            const ih = oh * sH - pH + kh;
            const iw = ow * sW - pW + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x[(pl * H + ih) * W + iw];
            if (at < 0 || v > best) {
              best = v;
              at = ih * W + iw;
            }
          }
        y[(pl * Ho + oh) * Wo + ow] = best;
        arg[(pl * Ho + oh) * Wo + ow] = at;
      }
  return { y, arg };
}

export function avgPoolRef(x: ArrayLike<number>, shape: readonly number[], o: PoolRefOpts): Float64Array {
  const [N, C, H, W] = shape;
  const [kH, kW] = o.kernel;
  const [sH, sW] = o.stride ?? o.kernel;
  const [pH, pW] = o.padding ?? [0, 0];
  const include = o.countIncludePad ?? true;
  const [Ho, Wo] = poolOutSize(H, W, o);
  const y = new Float64Array(N * C * Ho * Wo);
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        let s = 0;
        let valid = 0;
        let padded = 0;
        for (let kh = 0; kh < kH; kh++)
          for (let kw = 0; kw < kW; kw++) {
            const ih = oh * sH - pH + kh;
            const iw = ow * sW - pW + kw;
            // Cells of the zero-padded input count for countIncludePad; cells past it never do.
            if (ih < H + pH && iw < W + pW) padded++;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            s += x[(pl * H + ih) * W + iw];
            valid++;
          }
        y[(pl * Ho + oh) * Wo + ow] = s / (include ? padded : valid);
      }
  return y;
}

export function adaptiveAvgPoolRef(x: ArrayLike<number>, shape: readonly number[], oh: number, ow: number): Float64Array {
  const [N, C, H, W] = shape;
  const y = new Float64Array(N * C * oh * ow);
  for (let pl = 0; pl < N * C; pl++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const hs = Math.floor((i * H) / oh);
        const he = Math.ceil(((i + 1) * H) / oh);
        const ws = Math.floor((j * W) / ow);
        const we = Math.ceil(((j + 1) * W) / ow);
        let s = 0;
        for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) s += x[(pl * H + h) * W + w];
        y[(pl * oh + i) * ow + j] = s / ((he - hs) * (we - ws));
      }
  return y;
}
