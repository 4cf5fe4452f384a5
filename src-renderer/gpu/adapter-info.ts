/**
 * What WebGPU this page has: the adapter's identity, key limits and features,
 * or a plain explanation of why there is none.
 */
export const KEY_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
] as const;

export type AdapterReport =
  | {
      ok: true;
      vendor: string;
      architecture: string;
      device: string;
      description: string;
      isSoftware: boolean;
      isFallbackAdapter: boolean;
      limits: Record<string, number>;
      features: string[];
    }
  | { ok: false; reason: 'no-navigator-gpu' | 'no-adapter' | 'error'; message: string };

export async function inspectAdapter(gpu: GPU | undefined = navigator.gpu): Promise<AdapterReport> {
  if (!gpu) {
    const secure = typeof isSecureContext === 'boolean' ? isSecureContext : true;
    return {
      ok: false,
      reason: 'no-navigator-gpu',
      message: secure
        ? 'This browser does not expose WebGPU (navigator.gpu is missing). Use a current Chrome/Chromium or Edge; on Linux start it with --enable-unsafe-webgpu --enable-features=Vulkan.'
        : 'WebGPU needs a secure context: open the lab from http://127.0.0.1 (the URL npm start prints), not from a file or another address.',
    };
  }
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      return {
        ok: false,
        reason: 'no-adapter',
        message:
          'WebGPU is present but no adapter was found: the GPU driver may be blocklisted or missing. Update the driver, or on Linux install Vulkan drivers (mesa-vulkan-drivers) and start the browser with --enable-unsafe-webgpu.',
      };
    }
    const info = adapter.info;
    const limits: Record<string, number> = {};
    for (const k of KEY_LIMITS) limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
    const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
    return {
      ok: true,
      vendor: info.vendor || '(not reported)',
      architecture: info.architecture || '(not reported)',
      device: info.device,
      description: info.description,
      isSoftware: /swiftshader|llvmpipe|lavapipe|software/.test(text),
      isFallbackAdapter: Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      limits,
      features: [...adapter.features].map(String).sort(),
    };
  } catch (e) {
    return { ok: false, reason: 'error', message: `Asking for a WebGPU adapter failed: ${(e as Error).message}` };
  }
}
