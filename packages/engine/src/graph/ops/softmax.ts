import { withGrad, type Tensor } from '../tensor';
import { div, exp, mul, sub } from './arith';
import { cast, countOf, equal } from './nondiff';
import { reduceSum } from './expand-sum';
import { int64s, normAxis } from './util';

export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis('softmax', axis, x.rank);
  const out = x.graph.node('Softmax', [x], x, { axis: a });
  // dx = y * (g - sum(g * y))
  return withGrad(out, [x], [(g) => mul(out, sub(g, reduceSum(mul(g, out), [a], true)))]);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis('logSoftmax', axis, x.rank);
  const out = x.graph.node('LogSoftmax', [x], x, { axis: a });
  // dx = g - softmax(x) * sum(g)
  return withGrad(out, [x], [(g) => sub(g, mul(exp(out), reduceSum(g, [a], true)))]);
}

/**
 * Mean cross-entropy of `logits` [B, C] against int64 class labels [B]: a scalar. One op with a
 * fused backward, (softmax - onehot) / B, rather than the chain of its parts.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.rank !== 2) throw new Error(`softmaxCrossEntropy: logits must be [B, C], got ${logits}`);
  if (labels.dtype !== 'int64' || labels.rank !== 1) throw new Error(`softmaxCrossEntropy: labels must be int64 [B], got ${labels}`);
  const g = logits.graph;
  const [batch, classes] = logits.dims;
  const rows = labels.dims[0];
  if (typeof rows === 'number' && typeof batch === 'number' && rows !== batch)
    throw new Error(`softmaxCrossEntropy: ${labels} has ${rows} labels for the ${batch} rows of ${logits}`);
  const logp = g.node('LogSoftmax', [logits], logits, { axis: 1 });
  // One label per row: the labels' symbolic length is the logits' rows, even when the two were
  // named apart (a causal LM's 'B*T' labels against its reshaped [B * T, vocab] logits).
  const column = g.node('Unsqueeze', [labels, int64s(g, [1])], { dims: [typeof rows === 'number' ? rows : batch, 1], dtype: 'int64' });
  const picked = g.node('GatherElements', [logp, column], { dims: [batch, 1], dtype: logits.dtype }, { axis: 1 });
  const meanPicked = g.node('ReduceMean', [picked], { dims: [], dtype: logits.dtype }, { keepdims: 0 });
  const loss = g.node('Neg', [meanPicked], meanPicked);
  return withGrad(
    loss,
    [logits],
    [
      (gy) => {
        if (typeof classes !== 'number') throw new Error(`softmaxCrossEntropy: the class count of ${logits} must be static`);
        const classIds = g.constant(
          BigInt64Array.from({ length: classes }, (_, i) => BigInt(i)),
          [1, classes],
          'int64',
        );
        const onehot = cast(equal(column, classIds), logits.dtype);
        const probs = g.node('Exp', [logp], logp);
        return mul(sub(probs, onehot), div(gy, countOf(logits, [0])));
      },
    ],
  );
}
