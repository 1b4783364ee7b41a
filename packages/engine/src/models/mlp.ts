import { add, matmul, relu, reshape, tanh, type Graph, type Tensor } from '../graph';
import type { Model, ParamSpec } from './model';

export interface MlpConfig {
  inputSize: number;
  hidden: number[];
  classesPerHead: number;
  heads: number;
  activation?: 'relu' | 'tanh';
}

/**
 * A multi-layer perceptron with a shared trunk and one linear head per task (or one shared head).
 * Weights are [in, out] so a layer is x @ W + b with no transpose; params are named
 * 'trunk.<i>.weight|bias' and 'head.<h>.weight|bias'. With heads = 1 every task uses head 0.
 */
export function mlp(cfg: MlpConfig): Model {
  const activation = cfg.activation ?? 'relu';
  for (const [key, v] of Object.entries({ inputSize: cfg.inputSize, classesPerHead: cfg.classesPerHead, heads: cfg.heads })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`mlp: ${key} must be a positive integer, got ${v}`);
  }
  if (cfg.hidden.some((h) => !Number.isInteger(h) || h < 1))
    throw new Error(`mlp: hidden sizes must be positive integers, got [${cfg.hidden.join(', ')}]`);

  const widths = [cfg.inputSize, ...cfg.hidden];
  const hiddenInit = activation === 'relu' ? 'he' : 'xavier';
  const trunk: ParamSpec[] = cfg.hidden.flatMap((out, i) => [
    { name: `trunk.${i}.weight`, dims: [widths[i], out], init: hiddenInit },
    { name: `trunk.${i}.bias`, dims: [out], init: 'zeros' },
  ]);
  const last = widths[widths.length - 1];
  const headParams = (h: number): ParamSpec[] => [
    { name: `head.${h}.weight`, dims: [last, cfg.classesPerHead], init: 'xavier' },
    { name: `head.${h}.bias`, dims: [cfg.classesPerHead], init: 'zeros' },
  ];
  const heads = Array.from({ length: cfg.heads }, (_, h) => headParams(h));

  const headIndex = (head: number): number => {
    if (cfg.heads === 1) return 0;
    if (!Number.isInteger(head) || head < 0 || head >= cfg.heads)
      throw new Error(`mlp: head ${head} does not exist; this model has heads 0..${cfg.heads - 1}`);
    return head;
  };
  const act = activation === 'relu' ? relu : tanh;
  const layer = (x: Tensor, w: Tensor | undefined, b: Tensor | undefined, name: string) => {
    if (!w || !b) throw new Error(`mlp forward: parameter tensors for '${name}' are missing`);
    return add(matmul(x, w), b);
  };

  return {
    name: `mlp-${[cfg.inputSize, ...cfg.hidden, cfg.classesPerHead].join('-')}${cfg.heads > 1 ? `x${cfg.heads}` : ''}`,
    inputDims: [cfg.inputSize],
    heads: cfg.heads,
    classesPerHead: cfg.classesPerHead,
    params: [...trunk, ...heads.flat()],
    paramsForHead: (head) => [...trunk, ...heads[headIndex(head)]].map((p) => p.name),
    forward(g: Graph, params: Record<string, Tensor>, x: Tensor, head: number): Tensor {
      const h = headIndex(head);
      let a = x.rank === 2 ? x : reshape(x, [0, cfg.inputSize]); // flatten [B, 28, 28] -> [B, 784]
      cfg.hidden.forEach((_, i) => {
        a = act(layer(a, params[`trunk.${i}.weight`], params[`trunk.${i}.bias`], `trunk.${i}`));
      });
      return layer(a, params[`head.${h}.weight`], params[`head.${h}.bias`], `head.${h}`);
    },
  };
}
