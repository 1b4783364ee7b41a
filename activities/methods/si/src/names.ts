import { namespace } from '@retain/methods-kit';

/**
 * SI's names: step-graph inputs 'si.…' (the running sums 'si.omega.<p>', 'si.delta.<p>' and the
 * penalty's 'si.weight.<p>', 'si.anchor.<p>'); state 'importance.<p>' and 'anchor.<p>'.
 */
export const si = namespace('si', { state: 'unprefixed' });
