import { add, conv2d, globalAvgPool, maxPool2d, relu, reshape, type Graph, type Tensor } from '../graph';
import { batchNormLayer, batchNormSpecs, checkPositiveIntegers, linear, linearParams, paramOf, taskHeads } from './layers';
import type { BufferSpec, ForwardMode, Model, ParamSpec } from './model';

export interface CnnConfig {
  /**
   * lenet: LeNet-5 (conv5-pool-conv5-pool-fc-fc, ReLU, max pooling);
   * resnet: a 3x3 stem, then per stage a basic residual block (two 3x3 convs and an identity or
   * strided 1x1 projection shortcut), global average pooling.
   */
  arch: 'lenet' | 'resnet';
  /** Per-example image shape [C, H, W]; inputs arrive flat [B, C*H*W] or as images. */
  image: [number, number, number];
  classesPerHead: number;
  heads: number;
  /** lenet: the two conv widths (default [6, 16]); resnet: the width of each stage (default [16, 32]). */
  channels?: number[];
  /** lenet: the two hidden fc widths (default [120, 84]). */
  hidden?: number[];
  /** resnet: 'batch' puts batch norm after every conv (the ResNet paper's block); default 'none'. */
  norm?: 'batch' | 'none';
}

const convParams = (prefix: string, cOut: number, cIn: number, k: number): ParamSpec[] => [
  { name: `${prefix}.weight`, dims: [cOut, cIn, k, k], init: 'he', fanIn: cIn * k * k, fanOut: cOut * k * k },
  { name: `${prefix}.bias`, dims: [cOut], init: 'zeros' },
];

/**
 * Small convolutional networks for 28x28-class images, with a head per task or a shared head.
 * Conv weights are [C_out, C_in, kh, kw] (PyTorch's layout), fc weights [in, out].
 */
export function cnn(cfg: CnnConfig): Model {
  const [c, h, w] = cfg.image;
  checkPositiveIntegers('cnn', {
    'image channels': c,
    'image height': h,
    'image width': w,
    classesPerHead: cfg.classesPerHead,
    heads: cfg.heads,
  });
  const body = cfg.arch === 'lenet' ? lenetBody(cfg) : cfg.arch === 'resnet' ? resnetBody(cfg) : undefined;
  if (!body) throw new Error(`cnn: arch must be 'lenet' or 'resnet', got '${String(cfg.arch)}'`);
  const heads = taskHeads('cnn', cfg.heads, body.features, cfg.classesPerHead);
  const widths = cfg.channels ?? (cfg.arch === 'lenet' ? [6, 16] : [16, 32]);
  if (cfg.norm === 'batch' && cfg.arch !== 'resnet') throw new Error(`cnn: norm 'batch' is available for arch 'resnet', not '${cfg.arch}'`);
  return {
    name: `cnn-${cfg.arch}${cfg.norm === 'batch' ? '-bn' : ''}-${widths.join('-')}-${cfg.classesPerHead}${cfg.heads > 1 ? `x${cfg.heads}` : ''}`,
    inputDims: [c, h, w],
    heads: cfg.heads,
    classesPerHead: cfg.classesPerHead,
    params: [...body.params, ...heads.params.flat()],
    paramsForHead: (head) => [...body.params, ...heads.params[heads.index(head)]].map((p) => p.name),
    ...(body.buffers.length > 0 ? { buffers: body.buffers } : {}),
    forward(g: Graph, params: Record<string, Tensor>, x: Tensor, head: number, mode?: ForwardMode): Tensor {
      const prefix = heads.prefix(head);
      const images = x.rank === 4 ? x : reshape(x, [-1, c, h, w]);
      return linear('cnn', params, prefix, body.forward(params, images, mode));
    },
  };
}

interface Body {
  params: ParamSpec[];
  buffers: BufferSpec[];
  features: number;
  forward(params: Record<string, Tensor>, images: Tensor, mode?: ForwardMode): Tensor;
}

function lenetBody(cfg: CnnConfig): Body {
  const [c, h, w] = cfg.image;
  const [c1, c2] = cfg.channels ?? [6, 16];
  const hidden = cfg.hidden ?? [120, 84];
  if (cfg.channels && cfg.channels.length !== 2)
    throw new Error(`cnn lenet: channels must be two conv widths, got [${cfg.channels.join(', ')}]`);
  checkPositiveIntegers('cnn lenet', {
    'channels[0]': c1,
    'channels[1]': c2,
    ...Object.fromEntries(hidden.map((v, i) => [`hidden[${i}]`, v])),
  });
  // conv 5x5 pad 2 keeps the size, pool halves it; conv 5x5 (no pad) takes 4 off, pool halves again
  const side = (n: number) => Math.floor((Math.floor(n / 2) - 4) / 2);
  if (side(h) < 1 || side(w) < 1) throw new Error(`cnn lenet: images of ${h}x${w} are too small (need at least 12x12)`);
  const features = c2 * side(h) * side(w);
  const widths = [features, ...hidden];
  return {
    params: [
      ...convParams('conv.0', c1, c, 5),
      ...convParams('conv.1', c2, c1, 5),
      ...hidden.flatMap((out, i) => linearParams(`fc.${i}`, widths[i], out, 'he')),
    ],
    buffers: [],
    features: widths[widths.length - 1],
    forward(params, images) {
      const p = (n: string) => paramOf('cnn', params, n);
      let a = maxPool2d(relu(conv2d(images, p('conv.0.weight'), p('conv.0.bias'), { padding: 2 })), 2);
      a = maxPool2d(relu(conv2d(a, p('conv.1.weight'), p('conv.1.bias'))), 2);
      a = reshape(a, [-1, features]);
      hidden.forEach((_, i) => (a = relu(linear('cnn', params, `fc.${i}`, a))));
      return a;
    },
  };
}

function resnetBody(cfg: CnnConfig): Body {
  const [c] = cfg.image;
  const widths = cfg.channels ?? [16, 32];
  checkPositiveIntegers('cnn resnet', Object.fromEntries(widths.map((v, i) => [`channels[${i}]`, v])));
  if (widths.length === 0) throw new Error('cnn resnet: channels needs at least one stage width');
  const batchNorm = cfg.norm === 'batch';
  const params: ParamSpec[] = [];
  const buffers: BufferSpec[] = [];
  // A conv, and with batch norm its BN (the conv then has no bias: BN's beta takes its place).
  // `last` marks a block's final conv, which starts at zero (its BN's gamma, or its weight), so
  // each block starts as its shortcut (Goyal et al. 2017, "zero-init residual").
  const addConv = (name: string, cOut: number, cIn: number, k: number, last = false) => {
    const [weight, bias] = convParams(name, cOut, cIn, k);
    if (!batchNorm) {
      params.push(last ? { ...weight, init: 'zeros' } : weight, bias);
      return;
    }
    const bn = batchNormSpecs(`${name}.bn`, cOut, last ? 'zeros' : 'ones');
    params.push(weight, ...bn.params);
    buffers.push(...bn.buffers);
  };
  addConv('stem', widths[0], c, 3);
  widths.forEach((out, i) => {
    const inputs = i === 0 ? widths[0] : widths[i - 1];
    addConv(`block.${i}.conv1`, out, inputs, 3);
    addConv(`block.${i}.conv2`, out, out, 3, true);
    if (i > 0) addConv(`block.${i}.shortcut`, out, inputs, 1);
  });
  return {
    params,
    buffers,
    features: widths[widths.length - 1],
    forward(params, images, mode) {
      const conv = (name: string, x: Tensor, opts: { stride?: number; padding?: number }) => {
        const y = conv2d(x, paramOf('cnn', params, `${name}.weight`), batchNorm ? undefined : paramOf('cnn', params, `${name}.bias`), opts);
        return batchNorm ? batchNormLayer('cnn', params, `${name}.bn`, y, mode) : y;
      };
      let a = relu(conv('stem', images, { padding: 1 }));
      widths.forEach((_, i) => {
        // the first stage keeps the size; later stages halve it (stride 2) and project the shortcut
        const stride = i === 0 ? 1 : 2;
        const inner = conv(`block.${i}.conv2`, relu(conv(`block.${i}.conv1`, a, { stride, padding: 1 })), { padding: 1 });
        const shortcut = i === 0 ? a : conv(`block.${i}.shortcut`, a, { stride });
        a = relu(add(inner, shortcut));
      });
      return globalAvgPool(a);
    },
  };
}
