import { hostname } from 'node:os';
import { parseWorkerIdentity, retainBuild, workerIdentity } from './identity';

describe('worker identity', () => {
  it('names host, pid, device and build, and reads them back', () => {
    const identity = workerIdentity('cuda');
    expect(identity).toBe(`retain@${hostname()}/${process.pid} device=cuda build=${retainBuild()}`);
    // This checkout's commit (12 hex digits, -dirty while edited), or the package version without git.
    expect(retainBuild()).toMatch(/^([0-9a-f]{12}(-dirty)?|v\d+\.\d+\.\d+)$/);
    expect(parseWorkerIdentity(identity)).toEqual({ worker: `${hostname()}/${process.pid}`, device: 'cuda', build: retainBuild() });
  });

  it("leaves another SDK's identity whole, with no device or build", () => {
    expect(parseWorkerIdentity('4242@other-host')).toEqual({ worker: '4242@other-host' });
  });
});
