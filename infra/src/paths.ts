import * as path from 'node:path';

/**
 * Where Retain keeps its local state: env RETAIN_HOME, else `<cwd>/.retain`.
 * Tools (the pinned Temporal CLI) live in `<state>/tools`, the embedded server's files
 * (SQLite database, log, server.json) in `<state>/temporal`.
 */
export function stateDir(): string {
  const home = process.env.RETAIN_HOME;
  return home && home.trim() !== '' ? path.resolve(home) : path.resolve(process.cwd(), '.retain');
}

export function toolsDirOf(state: string): string {
  return path.join(state, 'tools');
}

export function temporalDirOf(state: string): string {
  return path.join(state, 'temporal');
}

/** The record of the embedded server that ensureTemporal reuses and stopEmbeddedServer stops. */
export function serverRecordPath(state: string): string {
  return path.join(temporalDirOf(state), 'server.json');
}

export function serverLogPath(state: string): string {
  return path.join(temporalDirOf(state), 'server.log');
}

export function defaultDbFile(state: string): string {
  return path.join(temporalDirOf(state), 'dev.sqlite');
}
