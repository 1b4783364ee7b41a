export * from './namespace';
