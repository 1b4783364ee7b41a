/**
 * Execution providers a session can run on. 'cpu' is always there; 'webgpu' is bundled with
 * onnxruntime-node but needs a GPU with a Vulkan driver; 'cuda' is a separate download that
 * onnxruntime-node's install script fetches only when asked. A device that cannot start is an
 * error saying what to install: ORT never falls back to the CPU for a whole session.
 */
export const DEVICES = ['cpu', 'cuda', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

/** Checks a device name from a flag or a config; `field` names where it came from. */
export function parseDevice(value: string, field = 'device'): Device {
  if ((DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new Error(`${field} must be one of ${DEVICES.join(', ')}, got '${value}'`);
}

/** What to do when `device` could not start (its provider is missing or found no GPU). */
export function deviceInstallHint(device: Device): string {
  switch (device) {
    case 'cuda':
      return (
        "onnxruntime-node's CUDA provider is not installed or cannot load its CUDA 12 / cuDNN 9 libraries. " +
        'On a machine with an NVIDIA GPU, install it with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node ' +
        '--foreground-scripts` (README, "GPU workers"), or use --device cpu'
      );
    case 'webgpu':
      return (
        'the WebGPU provider found no GPU adapter: it runs through Vulkan and needs a GPU with its Vulkan driver ' +
        '(libvulkan.so.1, Debian package libvulkan1, plus the vendor ICD, e.g. the NVIDIA driver), or use --device cpu'
      );
    default:
      return 'the CPU provider always exists; this is a bug in onnxruntime-node';
  }
}
