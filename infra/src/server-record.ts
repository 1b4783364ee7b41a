import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { serverRecordPath } from './paths';

/** What `<state>/temporal/server.json` says about the embedded server started from that state dir. */
export interface ServerRecord {
  pid: number;
  address: string;
  port: number;
  namespace: string;
  dbFile: string;
  logFile: string;
  cliPath: string;
  detached: boolean;
  uiUrl?: string;
  startedAt: string;
}

export async function readServerRecord(state: string): Promise<ServerRecord | undefined> {
  let text: string;
  try {
    text = await fs.readFile(serverRecordPath(state), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as ServerRecord;
    return Number.isInteger(record.pid) && typeof record.address === 'string' ? record : undefined;
  } catch {
    return undefined; // a torn or hand-edited file: treat as no record, a fresh start rewrites it
  }
}

export async function writeServerRecord(state: string, record: ServerRecord): Promise<void> {
  const file = serverRecordPath(state);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const scratch = `${file}.${process.pid}.tmp`;
  await fs.writeFile(scratch, JSON.stringify(record, null, 2) + '\n');
  await fs.rename(scratch, file); // readers never see half a record
}

/** Removes the record if it still describes `pid` (a newer server may have replaced it). */
export async function removeServerRecord(state: string, pid?: number): Promise<void> {
  if (pid !== undefined) {
    const record = await readServerRecord(state);
    if (record && record.pid !== pid) return;
  }
  await fs.rm(serverRecordPath(state), { force: true });
}
