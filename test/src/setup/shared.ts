import type { DevServer } from '@retain/infra';

/** What global-setup hands to global-teardown (jest shares globalThis between the two only). */
export interface TestTemporal {
  server: DevServer;
  dir: string;
}

export const TEST_TEMPORAL_KEY = '__retainTestTemporal__';
