export * from './errors';
export * from './spec';
export * from './evaluation';
export * from './plugin';
export * from './registry';
export * from './targets';
export * from './memory';
export * from './run';
export * from './quantizer-config';
export * from './plugin-shape';
/** The zod that validates every plugin's config: plugins outside this repo build their schemas with it. */
export { z } from 'zod';
export type * from './sweep-result';
export * from './sweep-summary';
export * from './sweep-schema';
export * from './sweep';
export type * from './sweep-run';
