import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import type { Plugin, PluginKind } from '../plugin';
import { checkBenchmark, checkEvaluator, checkMethod, checkModel, checkQuantizer, checkTrainer, type ConformanceReport } from '../testing';
import { pluginGenerator } from './plugin';

/**
 * Every kind's standalone scaffold, written to a real folder outside the workspace (its
 * node_modules a link to Retain's, as an install would give it): it type-checks under strict
 * TypeScript and passes its kind's conformance checks as generated.
 */
const repo = join(__dirname, '..', '..', '..', '..');
const kinds: PluginKind[] = ['benchmark', 'model', 'trainer', 'method', 'quantizer', 'evaluator'];
const check = (plugin: Plugin): Promise<ConformanceReport> => {
  switch (plugin.kind) {
    case 'benchmark':
      return checkBenchmark(plugin);
    case 'model':
      return checkModel(plugin);
    case 'trainer':
      return checkTrainer(plugin, { config: { steps: 10, batchSize: 8 } });
    case 'method':
      return checkMethod(plugin);
    case 'quantizer':
      return checkQuantizer(plugin);
    case 'evaluator':
      return checkEvaluator(plugin);
  }
};

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retain-scaffolds-'));
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const kind of kinds) {
    const tree = createTreeWithEmptyWorkspace();
    await pluginGenerator(tree, { kind, name: `my-${kind}`, directory: `out/${kind}`, description: `A ${kind} for tests.` });
    for (const change of tree.listChanges()) {
      if (!change.path.startsWith('out/') || !change.content) continue;
      const path = join(dir, change.path.slice('out/'.length));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, change.content);
    }
  }
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('standalone plugin scaffolds', () => {
  it('type-check under strict TypeScript against the published @retain types, tests included', () => {
    // One program for all kinds; the scaffolds' own tsconfig settings, their tests included.
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: './method/tsconfig.json',
        compilerOptions: { noEmit: true, rootDir: '.' },
        include: kinds.map((k) => `${k}/src/**/*.ts`),
        exclude: [],
      }),
    );
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    let errors = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      errors = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(errors).toBe('');
  }, 120_000);

  it.each(kinds)('a %s scaffold passes its conformance checks as generated and exports `plugins`', async (kind) => {
    const module = (await import(join(dir, kind, 'src', 'index.ts'))) as { plugins: Plugin[] };
    expect(module.plugins.map((p) => `${p.kind}/${p.name}`)).toEqual([`${kind}/my-${kind}`]);
    const report = await check(module.plugins[0]);
    expect(report.passed.length).toBeGreaterThan(3);
    if (kind === 'trainer') expect(report.passed).toContain('checkpoint-resume: resumed at step 5 ends as the uninterrupted run');
  });
});
