import { namespace } from '@retain/methods-kit';

/**
 * A-GEM's names: step-graph inputs 'agem.…' (the memory batch 'agem.x', 'agem.y'; in task-IL the
 * per-head samples 'agem.mem.…'); state 'agem.memory.…' (the episodic memory).
 */
export const agem = namespace('agem');
