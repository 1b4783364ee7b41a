import { namespace } from '@retain/methods-kit';

/** LwF's names: the teacher's params are inputs 'lwf.old.<p>' and state 'old.<p>'. */
export const lwf = namespace('lwf', { state: 'unprefixed' });
