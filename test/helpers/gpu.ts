/** One WebGPU device per test worker, found as the CLI finds it (src-main/gpu/node-gpu.ts). */
import { getNodeGpu, type NodeGpu } from '../../src-main/gpu/node-gpu.ts';
export { getNodeGpu };
export type { NodeGpu };

export async function testDevice(): Promise<GPUDevice> {
  return (await getNodeGpu()).device;
}
