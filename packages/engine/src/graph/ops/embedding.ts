import { withGrad, type Tensor } from '../tensor';
import { fillLike } from './nondiff';
import { int64s } from './util';

/**
 * Looks up rows of `table` [V, D] for int64 `ids` of any shape: out is [...ids.dims, D].
 * Gradient: scatter-add of the output gradient into the rows that were read (a row read twice
 * gets both gradients).
 */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (table.rank !== 2) throw new Error(`embedding: table must be [V, D], got ${table}`);
  if (ids.dtype !== 'int64') throw new Error(`embedding: ids must be int64, got ${ids}; cast them first`);
  const g = table.graph;
  const out = g.node('Gather', [table, ids], { dims: [...ids.dims, table.dims[1]], dtype: table.dtype }, { axis: 0 });
  return withGrad(
    out,
    [table],
    [
      (gy) => {
        const where = g.node('Unsqueeze', [ids, int64s(g, [-1])], { dims: [...ids.dims, 1], dtype: 'int64' });
        return g.node('ScatterND', [fillLike(table, 0), where, gy], table, { reduction: 'add' });
      },
    ],
  );
}
