import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pluginShapeIssues } from '@retain/sdk';
import { builtinPlugins } from './plugins';
import { configuredPluginPackages, PluginPackageError, resolvePlugins } from './plugin-packages';

/**
 * Real packages in a real node_modules of a temp project, loaded the way the CLI loads them.
 * Their plugins are plain JavaScript: zod comes from the repo (resolved by absolute path).
 */
const zod = require.resolve('zod');

let project: string;
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(project, path)), { recursive: true });
  writeFileSync(join(project, path), text);
};
const pluginPackage = (name: string, main: string) => {
  write(`node_modules/${name}/package.json`, JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
  write(`node_modules/${name}/index.js`, `const { z } = require(${JSON.stringify(zod)});\n${main}`);
};
const method = (name: string) =>
  `{ kind: 'method', name: '${name}', version: '1.0.0', description: 'test', configSchema: z.strictObject({}), training: () => ({}) }`;

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'retain-plugin-packages-'));
  write('package.json', JSON.stringify({ name: 'user-project', private: true }));
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

describe('resolvePlugins', () => {
  it('gives the builtins alone when nothing is configured', async () => {
    const { plugins, registry } = await resolvePlugins({ cwd: project });
    expect(plugins).toHaveLength(builtinPlugins.length);
    expect(plugins.every((p) => p.from === 'builtin')).toBe(true);
    expect(registry.find('method', 'ewc')).toBeDefined();
  });

  it('checks packages as strictly as the builtins, which all pass the same check', () => {
    expect(builtinPlugins.flatMap((p) => pluginShapeIssues(p).map((i) => `${p.kind}/${p.name}: ${i}`))).toEqual([]);
  });

  it('reads package.json "retain.plugins", retain.config.json and --plugins, each package once', () => {
    write('package.json', JSON.stringify({ name: 'user-project', retain: { plugins: ['a', 'b'] } }));
    write('retain.config.json', JSON.stringify({ plugins: ['b', 'c'] }));
    expect(configuredPluginPackages({ cwd: project, packages: ['d', 'a'] })).toEqual([
      { package: 'a', source: 'package.json "retain.plugins"' },
      { package: 'b', source: 'package.json "retain.plugins"' },
      { package: 'c', source: 'retain.config.json "plugins"' },
      { package: 'd', source: '--plugins' },
    ]);
  });

  it('adds the plugins a package exports, CommonJS `module.exports = { plugins }` or `exports.plugins`, with their source', async () => {
    pluginPackage('retain-plugin-one', `module.exports = { plugins: [${method('one')}] };`);
    pluginPackage('@lab/retain-two', `exports.plugins = [${method('two')}];`);
    write('package.json', JSON.stringify({ name: 'user-project', retain: { plugins: ['retain-plugin-one'] } }));
    const { plugins, registry } = await resolvePlugins({ cwd: project, packages: ['@lab/retain-two'] });
    expect(registry.get('method', 'one').description).toBe('test');
    expect(registry.get('method', 'two').name).toBe('two');
    expect(plugins.filter((p) => p.from !== 'builtin').map((p) => p.from)).toEqual([
      { package: 'retain-plugin-one', source: 'package.json "retain.plugins"' },
      { package: '@lab/retain-two', source: '--plugins' },
    ]);
  });

  it('names the package, its source and the fix when the package cannot be found', async () => {
    write('retain.config.json', JSON.stringify({ plugins: ['not-installed'] }));
    const loading = resolvePlugins({ cwd: project });
    await expect(loading).rejects.toThrow(PluginPackageError);
    await expect(loading).rejects.toThrow(
      /plugin package 'not-installed' \(named in retain.config.json "plugins"\) cannot be found from .*npm install not-installed.*remove it from retain.config.json "plugins"/,
    );
  });

  it('refuses a package that exports no plugins', async () => {
    pluginPackage('no-plugins', 'module.exports = { method: 1 };');
    await expect(resolvePlugins({ cwd: project, packages: ['no-plugins'] })).rejects.toThrow(
      /plugin package 'no-plugins' \(named in --plugins\) exports no plugins: its main module must export `plugins`/,
    );
  });

  it('refuses a package whose plugins are not valid, listing every problem', async () => {
    pluginPackage(
      'bad-plugins',
      `exports.plugins = [{ kind: 'evaluator', name: 'Top5', version: '1', description: 'x', configSchema: {} }, { kind: 'optimizer' }];`,
    );
    const error = await resolvePlugins({ cwd: project, packages: ['bad-plugins'] }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(PluginPackageError);
    const message = (error as Error).message;
    expect(message).toMatch(/plugin package 'bad-plugins' \(named in --plugins\) exports something that is not a valid plugin/);
    expect(message).toMatch(/plugins\[0\] \(evaluator\/Top5\): name: name must be lower-case/);
    expect(message).toMatch(/plugins\[0\] \(evaluator\/Top5\): configSchema: configSchema must be a zod schema/);
    expect(message).toMatch(/plugins\[0\] \(evaluator\/Top5\): evaluate: evaluate must be a function/);
    expect(message).toMatch(/plugins\[1\] \(optimizer\/\?\): kind: kind must be one of benchmark, model/);
  });

  it('refuses a plugin whose kind and name a builtin or another package already has', async () => {
    pluginPackage('shadow-ewc', `exports.plugins = [${method('ewc')}];`);
    await expect(resolvePlugins({ cwd: project, packages: ['shadow-ewc'] })).rejects.toThrow(
      /plugin package 'shadow-ewc' \(named in --plugins\) exports method\/ewc, which a builtin plugin already provides: give the plugin another name/,
    );
    pluginPackage('first', `exports.plugins = [${method('same')}];`);
    pluginPackage('second', `exports.plugins = [${method('same')}];`);
    write('package.json', JSON.stringify({ name: 'user-project', retain: { plugins: ['first'] } }));
    await expect(resolvePlugins({ cwd: project, packages: ['second'] })).rejects.toThrow(
      /'second' \(named in --plugins\) exports method\/same, which package 'first' \(package.json "retain.plugins"\) already provides/,
    );
  });

  it('refuses a config that is not a list of names', () => {
    write('package.json', JSON.stringify({ name: 'user-project', retain: { plugins: 'one' } }));
    expect(() => configuredPluginPackages({ cwd: project })).toThrow(/package.json "retain.plugins" in .* must be a list of package names/);
  });
});
