/**
 * CPU reference convolution (float64, tests only), PyTorch semantics:
 * x [N, C, H, W], w [O, C/groups, kH, kW], b [O] | null → [N, O, Ho, Wo],
 * zero padding, stride, dilation, groups. Plain loops, written for clarity.
 */
export interface ConvRefOpts {
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  groups?: number;
}

export function convOutSize(H: number, W: number, kH: number, kW: number, o: ConvRefOpts = {}): [number, number] {
  const [sH, sW] = o.stride ?? [1, 1];
  const [pH, pW] = o.padding ?? [0, 0];
  const [dH, dW] = o.dilation ?? [1, 1];
  return [Math.floor((H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1, Math.floor((W + 2 * pW - dW * (kW - 1) - 1) / sW) + 1];
}

export function conv2dRef(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  b: ArrayLike<number> | null,
  o: ConvRefOpts = {},
): Float64Array {
  const [N, C, H, W] = xShape;
  const [O, Cg, kH, kW] = wShape;
  const G = o.groups ?? 1;
  const [sH, sW] = o.stride ?? [1, 1];
  const [pH, pW] = o.padding ?? [0, 0];
  const [dH, dW] = o.dilation ?? [1, 1];
  const [Ho, Wo] = convOutSize(H, W, kH, kW, o);
  const Og = O / G;
  const y = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++)
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / Og);
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          let s = b ? b[oc] : 0;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < kH; kh++) {
              const ih = oh * sH - pH + kh * dH;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < kW; kw++) {
                const iw = ow * sW - pW + kw * dW;
                if (iw < 0 || iw >= W) continue;
                s += x[((n * C + g * Cg + c) * H + ih) * W + iw] * w[((oc * Cg + c) * kH + kh) * kW + kw];
              }
            }
          y[((n * O + oc) * Ho + oh) * Wo + ow] = s;
        }
    }
  return y;
}

/** Analytic gradients of Σ gy · conv2dRef(x, w, b): dx, dw, db (float64). */
export function conv2dBackwardRef(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  gy: ArrayLike<number>,
  o: ConvRefOpts = {},
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const [N, C, H, W] = xShape;
  const [O, Cg, kH, kW] = wShape;
  const G = o.groups ?? 1;
  const [sH, sW] = o.stride ?? [1, 1];
  const [pH, pW] = o.padding ?? [0, 0];
  const [dH, dW] = o.dilation ?? [1, 1];
  const [Ho, Wo] = convOutSize(H, W, kH, kW, o);
  const Og = O / G;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(O);
  for (let n = 0; n < N; n++)
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / Og);
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          const gv = gy[((n * O + oc) * Ho + oh) * Wo + ow];
          db[oc] += gv;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < kH; kh++) {
              const ih = oh * sH - pH + kh * dH;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < kW; kw++) {
                const iw = ow * sW - pW + kw * dW;
                if (iw < 0 || iw >= W) continue;
                const xi = ((n * C + g * Cg + c) * H + ih) * W + iw;
                const wi = ((oc * Cg + c) * kH + kh) * kW + kw;
                dx[xi] += gv * w[wi];
                dw[wi] += gv * x[xi];
              }
            }
        }
    }
  return { dx, dw, db };
}
