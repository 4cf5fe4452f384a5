/**
 * Fixed sinusoidal position encodings (Vaswani et al. 2017, section 3.5):
 * PE[t, 2i] = sin(t / 10000^(2i/D)), PE[t, 2i+1] = cos(t / 10000^(2i/D)).
 */
export function sinusoidalPositions(tokens: number, dim: number): Float32Array {
  const pe = new Float32Array(tokens * dim);
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < dim / 2; i++) {
      const angle = t / Math.pow(10000, (2 * i) / dim);
      pe[t * dim + 2 * i] = Math.sin(angle);
      pe[t * dim + 2 * i + 1] = Math.cos(angle);
    }
  }
  return pe;
}
