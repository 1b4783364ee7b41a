import { Client, Connection } from '@temporalio/client';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type DevServer, PortInUseError, startDevServer } from './dev-server';
import { isAlive } from './processes';
import { readServerRecord } from './server-record';
import { installTemporalCli } from './temporal-cli';
import { sharedToolsDir } from './test-support';

const WORKSPACE_TOOLS_DIR = sharedToolsDir();
jest.setTimeout(120_000);

let cliPath: string;
let state: string;
const running: DevServer[] = [];

beforeAll(async () => {
  cliPath = await installTemporalCli(WORKSPACE_TOOLS_DIR);
}, 10 * 60_000);

beforeEach(async () => {
  state = await fs.mkdtemp(path.join(os.tmpdir(), 'retain-devserver-'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
  await fs.rm(state, { recursive: true, force: true });
});

async function start(opts: Parameters<typeof startDevServer>[0] = {}): Promise<DevServer> {
  const server = await startDevServer({ cliPath, stateDir: state, port: 0, ...opts });
  running.push(server);
  return server;
}

async function withConnection<T>(address: string, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

test('starts on a free port with a SQLite file, answers describeNamespace, and stop() ends the process', async () => {
  const server = await start({ namespace: 'research' });
  expect(server.startedHere).toBe(true);
  expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(server.address).not.toBe('127.0.0.1:7233');
  expect(server.dbFile).toBe(path.join(state, 'temporal', 'dev.sqlite'));
  expect((await fs.stat(server.dbFile as string)).size).toBeGreaterThan(0);
  // Write-ahead logging: SQLite's header says so in its file format bytes (2 = WAL, 1 = rollback journal).
  const header = await fs.readFile(server.dbFile as string);
  expect([header[18], header[19]]).toEqual([2, 2]);

  const described = await withConnection(server.address, (c) => c.workflowService.describeNamespace({ namespace: 'research' }));
  expect(described.namespaceInfo?.name).toBe('research');
  expect(await readServerRecord(state)).toMatchObject({ pid: server.pid, address: server.address, namespace: 'research' });

  await server.stop();
  expect(isAlive(server.pid)).toBe(false);
  expect(await readServerRecord(state)).toBeUndefined();
});

test('a server restarted on the same SQLite file keeps its search attribute and a running workflow execution', async () => {
  const dbFile = path.join(state, 'runs.sqlite');
  const first = await start({ dbFile, searchAttributes: { RetainSpec: 'Keyword' } });
  const workflowId = await withConnection(first.address, async (connection) => {
    // No worker polls this queue, so the execution stays Running: all we need to see it survive.
    const handle = await new Client({ connection }).workflow.start('experimentWorkflow', {
      taskQueue: 'nobody-polls-this-queue',
      workflowId: 'restart-probe',
      args: [{ spec: 'permuted-fmnist' }],
    });
    return handle.workflowId;
  });
  await first.stop();

  const second = await start({ dbFile });
  expect(second.pid).not.toBe(first.pid);
  await withConnection(second.address, async (connection) => {
    const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('experimentWorkflow');
    expect(description.status.name).toBe('RUNNING');
    const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(attributes.customAttributes)).toContain('RetainSpec');
  });
});

test('a port held by a program that is not Temporal fails with an error naming the port and the fixes', async () => {
  const squatter = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as net.AddressInfo).port;
  try {
    const attempt = startDevServer({ cliPath, stateDir: state, port });
    await expect(attempt).rejects.toThrow(PortInUseError);
    await expect(attempt).rejects.toMatchObject({ port, temporal: false });
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `Port ${port} on 127\\.0\\.0\\.1 is already in use by a program that is not a Temporal server.*RETAIN_TEMPORAL_PORT.*TEMPORAL_ADDRESS`,
      ),
    );
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
});

test('a port already served by another Temporal server is named as such, with TEMPORAL_ADDRESS to use it', async () => {
  const other = await start();
  const port = Number(other.address.split(':')[1]);
  const otherState = await fs.mkdtemp(path.join(os.tmpdir(), 'retain-devserver-other-'));
  try {
    await expect(startDevServer({ cliPath, stateDir: otherState, port })).rejects.toMatchObject({
      port,
      temporal: true,
      message: expect.stringContaining(`TEMPORAL_ADDRESS=${other.address}`),
    });
  } finally {
    await fs.rm(otherState, { recursive: true, force: true });
  }
});

test('a server that exits during startup fails with the tail of its log', async () => {
  const notAFile = path.join(state, 'a-directory');
  await fs.mkdir(notAFile);
  const attempt = startDevServer({ cliPath, stateDir: state, port: 0, dbFile: notAFile });
  await expect(attempt).rejects.toThrow(/exited during startup \(exit code 1\)/);
  await expect(attempt).rejects.toThrow(/Last lines of .*server\.log:[\s\S]*unable to open database file/);
  expect(await readServerRecord(state)).toBeUndefined();
});

test('a second server on the SQLite file of a running one is refused', async () => {
  const first = await start();
  await expect(startDevServer({ cliPath, stateDir: state, port: 0 })).rejects.toThrow(
    `A Temporal dev server (pid ${first.pid}) already runs on ${first.address}`,
  );
});

test('dynamicConfig reaches the server: a history limit of 10 events terminates a workflow that gets 20 signals', async () => {
  const server = await start({ dynamicConfig: { 'limit.historyCount.error': 10, 'limit.historyCount.warn': 5 } });
  await withConnection(server.address, async (connection) => {
    const client = new Client({ connection });
    const handle = await client.workflow.start('experimentWorkflow', { taskQueue: 'nobody-polls-this-queue', workflowId: 'history-limit' });
    for (let i = 0; i < 20; i++) {
      // Signals to a terminated execution fail: that is the point, stop sending then.
      const sent = await handle.signal('pause').then(
        () => true,
        () => false,
      );
      if (!sent) break;
    }
    // The server terminates the execution as it appends past the limit; on a loaded machine that
    // may land a moment after the last accepted signal, so wait for it (up to 20 s) before asserting.
    let status = (await handle.describe()).status.name;
    for (let waited = 0; status !== 'TERMINATED' && waited < 20_000; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await handle.describe()).status.name;
    }
    expect(status).toBe('TERMINATED');
  });
});
