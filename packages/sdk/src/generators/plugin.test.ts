import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { pluginGenerator } from './plugin';

const repo = join(__dirname, '..', '..', '..', '..');
const seeded = ['packages/worker/src/plugins.ts', 'packages/worker/package.json', 'packages/worker/tsconfig.json', 'tsconfig.json'];

/** A virtual workspace holding the real files the generator edits. */
function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  for (const file of seeded) tree.write(file, readFileSync(join(repo, file), 'utf8'));
  return tree;
}

const json = (tree: Tree, path: string) => JSON.parse(tree.read(path, 'utf-8')!);

describe('nx generator @retain/sdk:plugin', () => {
  it('scaffolds a method project that starts like every other plugin', async () => {
    const tree = workspace();
    await pluginGenerator(tree, { kind: 'method', name: 'online-ewc', description: "Schwarz et al.'s online EWC." });

    const root = 'activities/methods/online-ewc';
    for (const file of [
      'package.json',
      'tsconfig.json',
      'jest.config.js',
      'README.md',
      'src/index.ts',
      'src/config.ts',
      'src/index.test.ts',
      'src/conformance.test.ts',
    ]) {
      expect(tree.exists(`${root}/${file}`)).toBe(true);
    }
    expect(json(tree, `${root}/package.json`).name).toBe('@retain/method-online-ewc');
    expect(json(tree, `${root}/tsconfig.json`).extends).toBe('../../../tsconfig.base.json');
    const index = tree.read(`${root}/src/index.ts`, 'utf-8')!;
    expect(index).toContain('export const onlineEwcMethod = definePlugin({');
    expect(index).toContain("kind: 'method'");
    expect(index).toContain(`description: "Schwarz et al.'s online EWC.",`);
  });

  it('registers the plugin with the worker: one import, one list entry, the dependency and references', async () => {
    const tree = workspace();
    const before = tree.read('packages/worker/src/plugins.ts', 'utf-8')!;
    await pluginGenerator(tree, { kind: 'quantizer', name: 'hqq' });

    const after = tree.read('packages/worker/src/plugins.ts', 'utf-8')!;
    expect(after).toContain("import { hqqQuantizer } from '@retain/quantizer-hqq';");
    expect(after).toMatch(/builtinPlugins: Plugin\[\] = \[[^\]]*\n {2}hqqQuantizer,\n\];/);
    expect(after.split('\n').length - before.split('\n').length).toBe(2);
    expect(json(tree, 'packages/worker/package.json').dependencies['@retain/quantizer-hqq']).toBe('*');
    expect(json(tree, 'packages/worker/tsconfig.json').references).toContainEqual({ path: '../../activities/quantizers/hqq' });
    expect(json(tree, 'tsconfig.json').references).toContainEqual({ path: 'activities/quantizers/hqq' });
  });

  it('refuses a name a spec could not use, and a plugin that exists already', async () => {
    const tree = workspace();
    await expect(pluginGenerator(tree, { kind: 'evaluator', name: 'Top5' })).rejects.toThrow(/--name 'Top5': use lower-case words/);
    await pluginGenerator(tree, { kind: 'evaluator', name: 'top5' });
    await expect(pluginGenerator(tree, { kind: 'evaluator', name: 'top5' })).rejects.toThrow(/activities\/evaluators\/top5 already exists/);
  });

  it.each(['model', 'benchmark', 'trainer'] as const)('scaffolds and registers a %s plugin', async (kind) => {
    const tree = workspace();
    await pluginGenerator(tree, { kind, name: 'wide' });
    const root = `activities/${kind}s/wide`;
    const index = tree.read(`${root}/src/index.ts`, 'utf-8')!;
    expect(index).toContain(`export const wide${kind[0].toUpperCase()}${kind.slice(1)} = definePlugin({`);
    expect(index).toContain(`kind: '${kind}'`);
    expect(index).not.toContain('export const plugins');
    expect(tree.read(`${root}/src/conformance.test.ts`, 'utf-8')).toContain(`check${kind[0].toUpperCase()}${kind.slice(1)}(wide`);
    expect(json(tree, 'packages/worker/package.json').dependencies[`@retain/${kind}-wide`]).toBe('*');
  });

  it('scaffolds a standalone package in another folder, leaving the workspace alone', async () => {
    const tree = workspace();
    await pluginGenerator(tree, { kind: 'method', name: 'my-ewc', directory: '../lab/retain-plugin-my-ewc' });
    const root = '../lab/retain-plugin-my-ewc';
    const pkg = json(tree, `${root}/package.json`);
    expect(pkg.name).toBe('retain-plugin-my-ewc');
    expect(pkg.peerDependencies).toEqual({ '@retain/sdk': '*' });
    expect(pkg.private).toBeUndefined();
    expect(tree.read(`${root}/src/index.ts`, 'utf-8')).toContain('export const plugins = [myEwcMethod];');
    expect(tree.read(`${root}/src/config.ts`, 'utf-8')).toContain("import { z } from '@retain/sdk';");
    expect(tree.read(`${root}/README.md`, 'utf-8')).toContain('{ "retain": { "plugins": ["retain-plugin-my-ewc"] } }');
    expect(tree.exists(`${root}/tsconfig.json`) && json(tree, `${root}/tsconfig.json`).extends).toBeUndefined();
    for (const file of seeded) expect(tree.read(file, 'utf-8')).toBe(readFileSync(join(repo, file), 'utf8'));
    await expect(pluginGenerator(tree, { kind: 'method', name: 'my-ewc', directory: root })).rejects.toThrow(
      /is not empty; choose another --directory/,
    );
  });
});
