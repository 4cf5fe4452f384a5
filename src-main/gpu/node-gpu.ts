/**
 * WebGPU for Node (CLI, tests, benchmarks) through Dawn's `webgpu` package.
 *
 * Adapter order: whatever Dawn picks by default (a real GPU, else Mesa's
 * lavapipe), then Dawn's OpenGL ES backend on Mesa llvmpipe, then SwiftShader
 * from Debian's chromium as the last resort (10–20× slower).
 * `LAYERLAB_ADAPTER=default|opengles|swiftshader` forces one.
 *
 * Every object returned by `create()` is kept reachable for the life of the
 * process: webgpu 0.6.2 crashes inside Dawn when it is garbage collected while
 * work is in flight (../shared/ENVIRONMENT.md). Scripts that use this module
 * must end with `process.exit()`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installDawnPollBackoff } from './dawn-poll.ts';

export interface NodeGpu {
  adapter: GPUAdapter;
  device: GPUDevice;
  /** Which route found the adapter. */
  backend: 'default' | 'opengles' | 'swiftshader';
  info: AdapterSummary;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
}

export class NoWebGpuAdapterError extends Error {
  constructor(tried: string[]) {
    super(
      'No WebGPU adapter found (tried: ' + tried.join(', ') + '). ' +
        'Install a GPU driver with Vulkan support, or a software one: on Debian 12 ' +
        "`apt-get install -t bookworm-backports mesa-vulkan-drivers` (Mesa 25's lavapipe; " +
        'add bookworm-backports to the apt sources first) or `apt-get install chromium` ' +
        '(SwiftShader, slow). `bash .ci/install-system-packages.sh` does both.',
    );
    this.name = 'NoWebGpuAdapterError';
  }
}

const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json'];
const keepAlive: unknown[] = [];
let cached: Promise<NodeGpu> | null = null;

export const KEY_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
] as const;

export function summariseAdapter(adapter: GPUAdapter, backend: string): AdapterSummary {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of KEY_LIMITS) limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    backend,
    isSoftware: /llvmpipe|lavapipe|swiftshader|software|mesa-cpu/.test(text),
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

async function tryCreate(flags: string[], options?: GPURequestAdapterOptions): Promise<GPUAdapter | null> {
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  installDawnPollBackoff(); // Dawn polls with setImmediate: do not let it spin a core (dawn-poll.ts)
  const gpu = webgpu.create(flags);
  keepAlive.push(gpu);
  try {
    return await gpu.requestAdapter(options);
  } catch {
    return null;
  }
}

async function requestDeviceFor(adapter: GPUAdapter): Promise<GPUDevice> {
  // Ask for the adapter's own limits: the engine reads device.limits and splits
  // work to fit them, so bigger limits mean fewer splits.
  const wanted: Record<string, number> = {};
  for (const k of KEY_LIMITS) wanted[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  return adapter.requestDevice({ requiredLimits: wanted });
}

async function findAdapter(): Promise<NodeGpu> {
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `layerlab-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const forced = process.env.LAYERLAB_ADAPTER;
  const tried: string[] = [];
  const routes: Array<NodeGpu['backend']> =
    forced === 'swiftshader' || forced === 'opengles' || forced === 'default'
      ? [forced]
      : ['default', 'opengles', 'swiftshader'];
  for (const route of routes) {
    let adapter: GPUAdapter | null = null;
    if (route === 'default') {
      tried.push('Dawn default (GPU or Mesa lavapipe)');
      adapter = await tryCreate([]);
    } else if (route === 'opengles') {
      tried.push('Dawn OpenGL ES (Mesa llvmpipe)');
      process.env.EGL_PLATFORM ??= 'surfaceless';
      adapter = await tryCreate(['backend=opengles'], { featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    } else {
      const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
      tried.push('SwiftShader' + (icd ? '' : ' (not installed)'));
      if (!icd) continue;
      process.env.VK_ICD_FILENAMES = icd;
      adapter = await tryCreate([]);
    }
    if (adapter) {
      const device = await requestDeviceFor(adapter);
      keepAlive.push(adapter, device);
      return { adapter, device, backend: route, info: summariseAdapter(adapter, route) };
    }
  }
  throw new NoWebGpuAdapterError(tried);
}

/** The process-wide Node WebGPU device (created on first call). */
export function getNodeGpu(): Promise<NodeGpu> {
  cached ??= findAdapter().catch((e) => {
    cached = null;
    throw e;
  });
  return cached;
}

/** Forget the cached device (after device loss) so the next call makes a new one. */
export function resetNodeGpu(): void {
  cached = null;
}
