// Prints the adapter the Node side will use, or why there is none (exit 1).
import { getNodeGpu } from '../src-main/gpu/node-gpu.ts';

try {
  const { info } = await getNodeGpu();
  console.log(`${info.vendor} ${info.architecture} ${info.description} via ${info.backend}`.replace(/\s+/g, ' '));
  process.exit(0);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
