import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { retainCli } from './cli-process';

/**
 * Issue 12's acceptance test: a plugin written outside this repo, packed and installed into a
 * user's project with npm, runs in an experiment through the built CLI and its worker. The
 * plugin is plain JavaScript against @retain/sdk's documented contract (definePlugin, z), like
 * one a research team would publish.
 */
const SDK = resolve(__dirname, '../../packages/sdk');

const PLUGIN_SOURCE = `'use strict';
const { definePlugin, z } = require('@retain/sdk');

/** Scales the trainer's learning rate on every task: scale 0 freezes the model. */
const lrScaleMethod = definePlugin({
  kind: 'method',
  name: 'lr-scale',
  version: '1.0.0',
  description: 'Multiplies the learning rate of every task by a constant.',
  configSchema: z.strictObject({ scale: z.number().min(0).default(1) }),
  training: (ctx) => ({ lrScale: ctx.config.scale }),
});

module.exports = { plugins: [lrScaleMethod] };
`;

describe('a plugin package from outside the workspace', () => {
  let dir: string;
  let project: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'retain-plugin-package-'));
    // The plugin: its own folder and package.json, @retain/sdk as a peer (the user's Retain provides it).
    const plugin = join(dir, 'retain-plugin-lr-scale');
    mkdirSync(plugin);
    writeFileSync(
      join(plugin, 'package.json'),
      JSON.stringify({
        name: 'retain-plugin-lr-scale',
        version: '1.0.0',
        main: 'index.js',
        peerDependencies: { '@retain/sdk': '*' },
        peerDependenciesMeta: { '@retain/sdk': { optional: true } },
      }),
    );
    writeFileSync(join(plugin, 'index.js'), PLUGIN_SOURCE);
    const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, stdio: 'pipe', encoding: 'utf8' });
    npm(['pack', '--pack-destination', dir], plugin);

    // The user's project: installs the packed plugin as npm would from a registry, names it in package.json.
    project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-study', private: true }));
    npm(['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', join(dir, 'retain-plugin-lr-scale-1.0.0.tgz')], project);
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ ...pkg, retain: { plugins: ['retain-plugin-lr-scale'] } }));
    // Retain itself, as `npm install @retain/cli` would put it in the project (after npm install, which prunes what it did not add).
    mkdirSync(join(project, 'node_modules', '@retain'));
    symlinkSync(SDK, join(project, 'node_modules', '@retain', 'sdk'), 'dir');
    writeFileSync(
      join(project, 'frozen.yaml'),
      [
        'name: plugin-package',
        'seed: 5',
        'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 600, testPerTask: 300 } }',
        'model: { name: mlp, config: { hidden: [32] } }',
        'trainer: { name: supervised, config: { batchSize: 64 } }',
        'method: { name: lr-scale, config: { scale: 0 } }',
        `execution: { taskQueue: plugin-package-${process.pid} }`,
        '',
      ].join('\n'),
    );
    env = { RETAIN_HOME: join(dir, 'state') };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('`retain plugins` lists it with the package and the config that named it', async () => {
    const { code, stdout } = await retainCli(['plugins'], env, project);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^method\s+lr-scale\s+retain-plugin-lr-scale \(package.json "retain.plugins"\)\s+Multiplies the learning rate/m);
    expect(stdout).toMatch(/^method\s+ewc\s+builtin\s/m);
  });

  it("`retain validate` checks the spec against the plugin's own config schema", async () => {
    writeFileSync(join(project, 'bad.yaml'), readFileSync(join(project, 'frozen.yaml'), 'utf8').replace('scale: 0', 'scale: -1, x: 1'));
    const { code, stderr } = await retainCli(['validate', 'bad.yaml'], env, project);
    expect(code).toBe(2);
    expect(stderr).toMatch(/method\.config\.scale: /);
    expect(stderr).toMatch(/method\.config\.x: unknown field/);
  });

  it('`retain run` runs an experiment with it: scale 0 leaves every task at its initial accuracy', async () => {
    const out = join(dir, 'out');
    const { code, stderr } = await retainCli(['run', 'frozen.yaml', '--out', out], env, project);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.spec.method).toEqual({ name: 'lr-scale', config: { scale: 0 } });
    expect(results.training.map((t: { steps: number }) => t.steps > 0)).toEqual([true, true]);
    // The learning rate was 0: training stepped but moved nothing, so no cell differs from the untrained model.
    expect(results.matrices.fp32).toEqual([results.initial, results.initial]);
    expect(Math.max(...results.initial)).toBeLessThan(0.3);
  });

  it('a package that is not installed fails before anything starts, naming it, --plugins and the fix', async () => {
    const { code, stderr } = await retainCli(
      ['run', 'frozen.yaml', '--plugins', 'retain-plugin-missing'],
      {
        ...env,
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      },
      project,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /plugin package 'retain-plugin-missing' \(named in --plugins\) cannot be found from .*npm install retain-plugin-missing/,
    );
  });
});
