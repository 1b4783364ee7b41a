import { add, logSoftmax, mul, neg, reduceMean, reduceSum, softmax, type StepMethod, type Tensor, type TensorMap } from '@retain/engine';
import { lwf } from './names';

export const oldName = (param: string) => lwf.inputs.name('old', param);

/**
 * LwF's loss term: alpha * mean_n( -sum_c softmax(z_old / T)_c * log softmax(z_new / T)_c ) for
 * each head an earlier task used, where z_old are the outputs of the model as it was before this
 * task (its params fed as 'lwf.old.<p>', no gradient) and z_new the current model's on the same
 * batch. A head this task does not train keeps its old params in z_new too, so only the shared
 * trunk answers for it.
 */
export function distillation(
  old: TensorMap,
  heads: number[],
  temperature: number,
  alpha: number,
): { step: StepMethod; tensors: TensorMap } {
  const constants: Record<string, number[]> = {};
  const tensors: TensorMap = {};
  for (const [p, t] of Object.entries(old)) {
    constants[oldName(p)] = [...t.dims];
    tensors[oldName(p)] = t;
  }
  const step: StepMethod = {
    constants,
    lossTerm: ({ model, params, inputs, batch }) => {
      let total: Tensor | undefined;
      for (const h of heads) {
        // Both start from the step's inputs so that model buffers (batch-norm statistics) are there.
        const oldParams: Record<string, Tensor> = { ...params };
        const newParams: Record<string, Tensor> = { ...params };
        for (const p of model.paramsForHead(h)) {
          oldParams[p] = inputs[oldName(p)];
          newParams[p] = params[p] ?? inputs[oldName(p)];
        }
        const target = softmax(mul(model.forward(batch.x.graph, oldParams, batch.x, h), 1 / temperature), 1);
        const logStudent = logSoftmax(mul(model.forward(batch.x.graph, newParams, batch.x, h), 1 / temperature), 1);
        const term = neg(reduceMean(reduceSum(mul(target, logStudent), [1])));
        total = total ? add(total, term) : term;
      }
      return total && mul(total, alpha);
    },
  };
  return { step, tensors };
}
