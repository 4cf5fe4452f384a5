/** An uncompressed image: HWC uint8, row-major. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export function rawImage(data: Uint8Array, height: number, width: number, channels: 1 | 3): RawImage {
  if (data.length !== height * width * channels) {
    throw new Error(`image buffer holds ${data.length} bytes, expected ${height}×${width}×${channels}`);
  }
  return { data, width, height, channels };
}
