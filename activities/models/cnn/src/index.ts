import { z } from 'zod';
import { definePlugin, SpecError } from '@retain/sdk';
import { cnn, numel } from '@retain/engine';

export const cnnConfigSchema = z.strictObject({
  /** lenet: LeNet-5; resnet: a stem and one basic residual block per stage, global average pooling. */
  arch: z.enum(['lenet', 'resnet']).default('lenet'),
  /** Conv widths: lenet's two convs (default [6, 16]) or resnet's stages (default [16, 32]). */
  channels: z.array(z.number().int().min(1)).min(1).optional(),
  /** lenet's two hidden fully connected widths (default [120, 84]). */
  hidden: z.array(z.number().int().min(1)).min(1).optional(),
  /** resnet only: 'batch' puts batch norm after every conv (running statistics are model buffers). */
  norm: z.enum(['batch', 'none']).default('none'),
  /** Image shape [C, H, W]; default: the scenario's, or [1, s, s] for flat inputs of s*s pixels. */
  image: z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]).optional(),
});
export type CnnConfig = z.output<typeof cnnConfigSchema>;

/** The image shape for a scenario's per-example input dims: [C, H, W] as given, [H, W] or s*s pixels as one channel. */
export function imageShape(inputDims: number[], image?: [number, number, number]): [number, number, number] {
  const size = numel(inputDims);
  const shape: [number, number, number] | undefined =
    image ??
    (inputDims.length === 3
      ? (inputDims as [number, number, number])
      : inputDims.length === 2
        ? [1, inputDims[0], inputDims[1]]
        : Number.isInteger(Math.sqrt(size))
          ? [1, Math.sqrt(size), Math.sqrt(size)]
          : undefined);
  if (!shape || shape[0] * shape[1] * shape[2] !== size)
    throw new SpecError(
      'model.config.image',
      `inputs of [${inputDims.join(', ')}] are not ${shape ? `[${shape.join(', ')}]` : 'square one-channel images'}; set model.config.image to [C, H, W]`,
    );
  return shape;
}

/** Small convolutional networks (LeNet-5 or a small ResNet) for image benchmarks. */
export const cnnModel = definePlugin({
  kind: 'model',
  name: 'cnn',
  version: '0.1.0',
  description: 'Small CNN for images: LeNet-5 or a small ResNet; one shared head or a head per task, as the benchmark asks.',
  configSchema: cnnConfigSchema,
  build: (config: CnnConfig, scenario) =>
    cnn({
      arch: config.arch,
      image: imageShape(scenario.inputDims, config.image),
      channels: config.channels,
      hidden: config.hidden,
      norm: config.norm,
      classesPerHead: scenario.classesPerHead,
      heads: scenario.heads,
    }),
  /**
   * Per example: each conv's output (C_k x H_k x W_k, lenet's second and every resnet stage after
   * the first at half the side of the one before), four tensors a conv keeps in training (conv,
   * norm, activation, pooled or residual), two alive at once in evaluation.
   */
  activations: (config: CnnConfig, scenario) => {
    const [, h, w] = imageShape(scenario.inputDims, config.image);
    const widths = config.channels ?? (config.arch === 'lenet' ? [6, 16] : [16, 32]);
    const maps = widths.map((c, k) => (c * h * w) / 4 ** k);
    return { train: 4 * maps.reduce((a, b) => a + b, 0), evaluate: 2 * Math.max(...maps) };
  },
});
