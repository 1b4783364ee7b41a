import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { definePlugin, quantizerConfigSchema, type EvaluatorPlugin, type QuantizerPlugin } from '@retain/sdk';
import { rtnQuantizer, type RtnConfig } from '@retain/quantizer-rtn';

/**
 * Test only: plugins that compute exactly what their real counterparts compute, after a pause, so
 * a fault test can kill a worker while a task is quantized or evaluated. Both stages take a few
 * milliseconds on the tests' tiny models, less than the time a heartbeat needs to tell the test
 * which stage runs.
 */

/** RTN (same codes, same ONNX files) after `delayMs`. */
export const slowRtnQuantizer: QuantizerPlugin<RtnConfig & { delayMs: number }> = definePlugin({
  kind: 'quantizer',
  name: 'slow-rtn',
  version: '0.0.1',
  description: 'Test only: RTN after a pause of delayMs.',
  configSchema: quantizerConfigSchema({ delayMs: z.number().int().min(0).default(1500) }),
  quantize: async (ctx) => {
    const { delayMs, ...config } = ctx.config;
    await sleep(delayMs);
    return rtnQuantizer.quantize({ ...ctx, config });
  },
});

/** Reports nothing but the pause it took (`slow.delayMs`), `delayMs` per task evaluated. */
export const slowEvaluator: EvaluatorPlugin<{ delayMs: number }> = definePlugin({
  kind: 'evaluator',
  name: 'slow',
  version: '0.0.1',
  description: 'Test only: waits delayMs per task.',
  configSchema: z.strictObject({ delayMs: z.number().int().min(0).default(400) }),
  evaluate: async ({ config }) => {
    await sleep(config.delayMs);
    return { delayMs: config.delayMs };
  },
});
