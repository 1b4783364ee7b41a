import { add, matmul, relu, reshape, type Graph, type Model, type ParamSpec, type Tensor } from '@retain/engine';

export interface ProgressiveConfig {
  inputSize: number;
  /** Hidden widths of every column. */
  hidden: number[];
  classesPerHead: number;
  /** Columns = tasks = heads (task-IL). */
  columns: number;
}

/** Every param of column `t`: its own layers, its head, and the lateral adapters into it. */
export function columnParams(t: number, hidden: number[]): string[] {
  const names: string[] = [];
  hidden.forEach((_, l) => {
    names.push(`col.${t}.${l}.weight`, `col.${t}.${l}.bias`);
    if (l > 0) for (let k = 0; k < t; k++) names.push(`col.${t}.${l}.lateral.${k}.weight`);
  });
  names.push(`col.${t}.head.weight`, `col.${t}.head.bias`);
  for (let k = 0; k < t; k++) names.push(`col.${t}.head.lateral.${k}.weight`);
  return names;
}

/**
 * A progressive network (Rusu et al. 2016) of MLP columns, one per task. Column t reads the input
 * and, from its second layer on and in its head, the hidden activations of every earlier column
 * at the layer below (lateral adapters U_{k->t}); head t is column t's output. The forward pass
 * for head t reads columns 0..t, so training task t with only column t's params trainable
 * leaves every earlier task's function bit-for-bit unchanged.
 */
export function progressiveMlp(cfg: ProgressiveConfig): Model {
  const widths = [cfg.inputSize, ...cfg.hidden];
  const last = widths[widths.length - 1];
  const specs: ParamSpec[] = [];
  for (let t = 0; t < cfg.columns; t++) {
    cfg.hidden.forEach((out, l) => {
      specs.push({ name: `col.${t}.${l}.weight`, dims: [widths[l], out], init: 'he' });
      specs.push({ name: `col.${t}.${l}.bias`, dims: [out], init: 'zeros' });
      if (l > 0) for (let k = 0; k < t; k++) specs.push({ name: `col.${t}.${l}.lateral.${k}.weight`, dims: [widths[l], out], init: 'he' });
    });
    specs.push({ name: `col.${t}.head.weight`, dims: [last, cfg.classesPerHead], init: 'xavier' });
    specs.push({ name: `col.${t}.head.bias`, dims: [cfg.classesPerHead], init: 'zeros' });
    for (let k = 0; k < t; k++) specs.push({ name: `col.${t}.head.lateral.${k}.weight`, dims: [last, cfg.classesPerHead], init: 'xavier' });
  }
  const column = (head: number): number => {
    if (!Number.isInteger(head) || head < 0 || head >= cfg.columns)
      throw new Error(`progressive mlp: head ${head} does not exist; this model has columns 0..${cfg.columns - 1}`);
    return head;
  };
  const p = (params: Record<string, Tensor>, name: string): Tensor => {
    const t = params[name];
    if (!t) throw new Error(`progressive mlp forward: parameter '${name}' is missing`);
    return t;
  };
  return {
    name: `pnn-${[cfg.inputSize, ...cfg.hidden, cfg.classesPerHead].join('-')}x${cfg.columns}`,
    inputDims: [cfg.inputSize],
    heads: cfg.columns,
    classesPerHead: cfg.classesPerHead,
    params: specs,
    paramsForHead: (head) => Array.from({ length: column(head) + 1 }, (_, t) => columnParams(t, cfg.hidden)).flat(),
    forward(_g: Graph, params: Record<string, Tensor>, x: Tensor, head: number): Tensor {
      const t = column(head);
      const input = x.rank === 2 ? x : reshape(x, [0, cfg.inputSize]);
      // activations[k] = the current layer's output of column k, computed layer by layer.
      let below: Tensor[] = Array.from({ length: t + 1 }, () => input);
      cfg.hidden.forEach((_, l) => {
        below = below.map((h, k) => {
          let z = add(matmul(h, p(params, `col.${k}.${l}.weight`)), p(params, `col.${k}.${l}.bias`));
          if (l > 0) for (let j = 0; j < k; j++) z = add(z, matmul(below[j], p(params, `col.${k}.${l}.lateral.${j}.weight`)));
          return relu(z);
        });
      });
      let logits = add(matmul(below[t], p(params, `col.${t}.head.weight`)), p(params, `col.${t}.head.bias`));
      for (let k = 0; k < t; k++) logits = add(logits, matmul(below[k], p(params, `col.${t}.head.lateral.${k}.weight`)));
      return logits;
    },
  };
}
