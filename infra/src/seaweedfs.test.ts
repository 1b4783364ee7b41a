import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SEAWEEDFS_RELEASE, pinnedWeedPath, resolveWeed, startS3Server, weedVersion } from './seaweedfs';
import { sharedToolsDir } from './test-support';

let scratch: string;
const savedWeed = process.env.RETAIN_WEED;

beforeEach(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'retain-weed-'));
  delete process.env.RETAIN_WEED;
});
afterEach(async () => {
  if (savedWeed === undefined) delete process.env.RETAIN_WEED;
  else process.env.RETAIN_WEED = savedWeed;
  await fs.rm(scratch, { recursive: true, force: true });
});

describe('resolveWeed', () => {
  it('finds the copy infra/setup.sh built, which reports the pinned release', async () => {
    const weed = await resolveWeed({ toolsDir: sharedToolsDir(), install: false });
    expect(weed).toBe(pinnedWeedPath(sharedToolsDir()));
    expect(await weedVersion(weed)).toContain(` ${SEAWEEDFS_RELEASE} `);
  });

  it('without a copy and without install, says what to run', async () => {
    await expect(resolveWeed({ toolsDir: scratch, install: false })).rejects.toThrow(/bash infra\/setup\.sh.*go build/s);
  });

  it('refuses a RETAIN_WEED that is not an executable, naming it', async () => {
    process.env.RETAIN_WEED = path.join(scratch, 'nope');
    await expect(resolveWeed({ toolsDir: scratch })).rejects.toThrow(/RETAIN_WEED=.*nope is not an executable file/);
  });
});

describe('startS3Server', () => {
  it('reports a server that exits during startup with its log', async () => {
    const fake = path.join(scratch, 'weed');
    await fs.writeFile(fake, '#!/bin/sh\necho "bad flag $1" >&2\nexit 3\n', { mode: 0o755 });
    await expect(startS3Server({ weedPath: fake, dir: path.join(scratch, 's3') })).rejects.toThrow(
      /exited during startup \(exit code 3\)[^]*bad flag mini/,
    );
  });
});
