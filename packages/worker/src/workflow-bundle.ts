import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';

/**
 * The workflow bundle, built once and reused from `cacheDir` by later worker processes. Webpack
 * bundling takes about 10 s on a busy 2-core machine, which a worker replacing a crashed one
 * would otherwise spend before it can resume training. The cache key hashes every input the
 * bundle can contain: the built JavaScript of @retain/workflows and the Retain packages it
 * depends on (transitively), and the versions of every other package among them, so a changed
 * workflow never runs from a stale bundle.
 */
export async function cachedWorkflowBundle(workflowsPath: string, cacheDir: string): Promise<NonNullable<WorkerOptions['workflowBundle']>> {
  const path = join(cacheDir, `workflows-${bundleKey()}.js`);
  if (existsSync(path)) return { codePath: path };
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  mkdirSync(cacheDir, { recursive: true });
  // Write beside, then rename: a concurrent worker reads either no file or a complete one.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, code);
  renameSync(temp, path);
  return { code };
}

function bundleKey(): string {
  const hash = createHash('sha256');
  hash.update(`@temporalio/worker@${versionOf('@temporalio/worker')}\n`);
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const manifestPath = manifestPathOf(name);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; dependencies?: Record<string, string> };
    if (!name.startsWith('@retain/')) {
      hash.update(`${name}@${manifest.version}\n`);
      return;
    }
    for (const file of jsFiles(join(dirname(manifestPath), 'dist'))) hash.update(file).update(readFileSync(file));
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep);
  };
  visit('@retain/workflows');
  return hash.digest('hex').slice(0, 24);
}

function jsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return jsFiles(path);
      return name.endsWith('.js') ? [path] : [];
    });
}

function versionOf(name: string): string {
  return (JSON.parse(readFileSync(manifestPathOf(name), 'utf8')) as { version: string }).version;
}

/**
 * The package.json of an installed package, found where Node would look for the package. Not
 * `require.resolve('<name>/package.json')`: a package whose "exports" leaves its manifest out
 * (js-tiktoken) refuses that.
 */
function manifestPathOf(name: string): string {
  for (const dir of require.resolve.paths(name) ?? []) {
    const candidate = join(dir, name, 'package.json');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`workflow bundle: package ${name} is not installed (no ${name}/package.json on Node's search path); run npm ci`);
}

const quiet = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`${message}\n`),
  error: (message: string) => process.stderr.write(`${message}\n`),
  log: () => undefined,
};
