export * from './errors';
export * from './spec';
export * from './plugin';
export * from './registry';
export * from './run';
export * from './quantizer-config';
