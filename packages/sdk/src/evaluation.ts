import { deriveSeed, Rng } from '@retain/engine';
import { z } from 'zod';

/**
 * Which tasks a run evaluates after each task (the spec's `evaluation.tasks`). Evaluating every
 * task after every task costs T evaluations a task, T^2 a run; the cheaper policies leave the
 * cells they skip null in the accuracy matrices. Whatever the policy, the tasks after task t
 * include the "spine" the summary metrics read: task t itself (R[t][t], for BWT), task t+1
 * (R[t][t+1], for FWT) and, after the last task, every task (the last row, for ACC, BWT and
 * forgetting). Definitions over sparse matrices: docs/architecture.md §6.
 */
export type EvaluationTasks = 'all' | 'seen-and-next' | { every: number } | { sample: number };

const POLICIES =
  'expected "all", "seen-and-next", { every: k } (k a whole number, at least 1) or { sample: n } (n a whole number, at least 0)';

const evaluationTasksSchema = z.union(
  [
    z.enum(['all', 'seen-and-next']),
    z.strictObject({
      /** Every task after tasks k-1, 2k-1, ... (every k-th task), the spine after the others. */
      every: z.number().int('a whole number of tasks').min(1, 'at least 1 (1 evaluates every task after every task, as "all")'),
    }),
    z.strictObject({
      /** The spine plus n earlier tasks drawn afresh after each task, from the spec's seed. */
      sample: z.number().int('a whole number of tasks').min(0, 'at least 0 (0 evaluates the spine only)'),
    }),
  ],
  { error: (issue) => `${POLICIES}; got ${JSON.stringify(issue.input)}` },
);

/**
 * The spec's `evaluation` section. Optional, and resolved where it is used (`evaluationTasksOf`),
 * so a spec without it validates to the same object as before and its results.json is unchanged.
 */
export const evaluationSchema = z.strictObject({
  tasks: evaluationTasksSchema.default('all'),
});
export type EvaluationSpec = z.output<typeof evaluationSchema>;

/** The policy of a spec: `all` (the full matrix) unless its `evaluation.tasks` says otherwise. */
export function evaluationTasksOf(spec: { evaluation?: EvaluationSpec }): EvaluationTasks {
  return spec.evaluation?.tasks ?? 'all';
}

/** How a policy reads in a spec (and in the CLI's summary): `all`, `seen-and-next`, `every 10`, `sample 8`. */
export function describeEvaluationTasks(policy: EvaluationTasks): string {
  if (typeof policy === 'string') return policy;
  return 'every' in policy ? `every ${policy.every}` : `sample ${policy.sample}`;
}

/**
 * The tasks evaluated after training task `taskIndex` of `tasks`, ascending. `seed` is the spec's:
 * `{ sample: n }` draws its n earlier tasks from `deriveSeed(seed, 'evaluation', taskIndex)`, so a
 * retried or resumed task evaluates the same ones.
 */
export function evaluatedTasks(policy: EvaluationTasks, taskIndex: number, tasks: number, seed: number): number[] {
  if (!Number.isInteger(tasks) || tasks < 1) throw new Error(`evaluatedTasks: a run has at least 1 task; got ${tasks}`);
  if (!Number.isInteger(taskIndex) || taskIndex < 0 || taskIndex >= tasks)
    throw new Error(`evaluatedTasks: task ${taskIndex} is not one of the run's ${tasks} tasks (0..${tasks - 1})`);
  const everyTask = Array.from({ length: tasks }, (_, j) => j);
  if (policy === 'all' || taskIndex === tasks - 1) return everyTask;
  if (policy === 'seen-and-next') return everyTask.slice(0, taskIndex + 2);
  if ('every' in policy) return (taskIndex + 1) % policy.every === 0 ? everyTask : [taskIndex, taskIndex + 1];
  return [...sampleBelow(taskIndex, policy.sample, new Rng(deriveSeed(seed, 'evaluation', taskIndex))), taskIndex, taskIndex + 1];
}

/**
 * `count` distinct integers from 0..n-1 (all of them when n <= count), ascending: Floyd's
 * algorithm, O(count) draws whatever n is, so a late task of a long run costs what an early one does.
 */
function sampleBelow(n: number, count: number, rng: Rng): number[] {
  if (n <= count) return Array.from({ length: n }, (_, j) => j);
  const chosen = new Set<number>();
  for (let m = n - count; m < n; m++) {
    const r = rng.int(m + 1);
    chosen.add(chosen.has(r) ? m : r);
  }
  return [...chosen].sort((a, b) => a - b);
}
