/** Messages between the inspect handlers and their worker thread. */
export interface InspectRequest {
  id: number;
  method: 'overview' | 'example' | 'mistakes';
  args: Record<string, unknown>;
}

export type InspectResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; user: boolean; message: string };
