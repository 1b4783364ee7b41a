import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginRegistry, pluginLabel, pluginShapeIssues, type Plugin } from '@retain/sdk';
import { builtinPlugins } from './plugins';

/**
 * Plugins from installed packages. A user's project names packages in its package.json
 * (`"retain": { "plugins": [...] }`), in a `retain.config.json` next to it (`{ "plugins": [...] }`)
 * or on the command line (`--plugins a,b`); each package exports its plugins as `plugins`
 * (`export const plugins = [...]`, or `module.exports = { plugins: [...] }`). resolvePlugins
 * loads them, checks them as the registry would, and adds them to the builtins. The CLI's spec
 * validation and every worker it starts use the same list, so a spec naming such a plugin
 * validates and runs alike.
 */

/** Where a package was named; every error about it names the source. */
export type PluginConfigSource = 'package.json "retain.plugins"' | 'retain.config.json "plugins"' | '--plugins';

export interface PluginPackageRef {
  package: string;
  source: PluginConfigSource;
}

export interface PluginOptions {
  /** The user's project: where the config is read and packages are resolved from (default: process.cwd()). */
  cwd?: string;
  /** Packages named on the command line (`--plugins`). */
  packages?: string[];
}

/** One plugin with where it came from: `builtin`, or the package and the config that named it. */
export interface ResolvedPlugin {
  plugin: Plugin;
  from: 'builtin' | PluginPackageRef;
}

export interface ResolvedPlugins {
  plugins: ResolvedPlugin[];
  registry: PluginRegistry;
}

/** A configured plugin package that cannot be used; the message names the package, its source and the fix. */
export class PluginPackageError extends Error {
  override readonly name = 'PluginPackageError';
}

export const CONFIG_FILE = 'retain.config.json';

/** The packages a project configures, first source first, each once: package.json, retain.config.json, then `packages`. */
export function configuredPluginPackages(options: PluginOptions = {}): PluginPackageRef[] {
  const cwd = options.cwd ?? process.cwd();
  const refs: PluginPackageRef[] = [];
  const add = (names: unknown, source: PluginConfigSource, file?: string) => {
    if (names === undefined) return;
    const where = file ? `${source} in ${file}` : source;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n.trim() === '')) {
      throw new PluginPackageError(`${where} must be a list of package names, e.g. ["my-retain-plugin"]`);
    }
    for (const name of names as string[]) if (!refs.some((r) => r.package === name.trim())) refs.push({ package: name.trim(), source });
  };
  const pkgFile = join(cwd, 'package.json');
  const pkg = readJson(pkgFile);
  if (pkg !== undefined) {
    const retain = (pkg as { retain?: unknown }).retain;
    if (retain !== undefined && (typeof retain !== 'object' || retain === null)) {
      throw new PluginPackageError(`package.json "retain" in ${pkgFile} must be an object, e.g. { "plugins": ["my-retain-plugin"] }`);
    }
    add((retain as { plugins?: unknown } | undefined)?.plugins, 'package.json "retain.plugins"', pkgFile);
  }
  const configFile = join(cwd, CONFIG_FILE);
  const config = readJson(configFile);
  if (config !== undefined) {
    if (typeof config !== 'object' || config === null) {
      throw new PluginPackageError(`${configFile} must be an object, e.g. { "plugins": ["my-retain-plugin"] }`);
    }
    add((config as { plugins?: unknown }).plugins, 'retain.config.json "plugins"', configFile);
  }
  add(options.packages, '--plugins');
  return refs;
}

/** The builtin plugins plus those of every configured package, checked, in one registry. */
export async function resolvePlugins(options: PluginOptions = {}): Promise<ResolvedPlugins> {
  const cwd = options.cwd ?? process.cwd();
  const plugins: ResolvedPlugin[] = builtinPlugins.map((plugin) => ({ plugin, from: 'builtin' }));
  for (const ref of configuredPluginPackages(options)) {
    for (const plugin of await loadPackage(ref, cwd)) {
      const key = `${plugin.kind}/${plugin.name}`;
      const twin = plugins.find((p) => p.plugin.kind === plugin.kind && p.plugin.name === plugin.name);
      if (twin) {
        const other = twin.from === 'builtin' ? 'a builtin plugin' : `package '${twin.from.package}' (${twin.from.source})`;
        throw new PluginPackageError(
          `${describeRef(ref)} exports ${key}, which ${other} already provides: ` +
            `give the plugin another name in '${ref.package}', or remove one of the two packages from the config`,
        );
      }
      plugins.push({ plugin, from: ref });
    }
  }
  return { plugins, registry: new PluginRegistry(plugins.map((p) => p.plugin)) };
}

async function loadPackage(ref: PluginPackageRef, cwd: string): Promise<Plugin[]> {
  const what = describeRef(ref);
  let entry: string;
  try {
    entry = createRequire(join(cwd, 'package.json')).resolve(ref.package);
  } catch (err) {
    throw new PluginPackageError(
      `${what} cannot be found from ${cwd} (${firstLine(err)}): install it in this project (npm install ${ref.package}) ` +
        `or remove it from ${ref.source}`,
    );
  }
  let exported: Record<string, unknown>;
  try {
    // An absolute path is a valid specifier on POSIX (and works when jest turns import() into require).
    exported = (await import(process.platform === 'win32' ? pathToFileURL(entry).href : entry)) as Record<string, unknown>;
  } catch (err) {
    throw new PluginPackageError(`${what} failed to load from ${entry}: ${firstLine(err)}`);
  }
  const list = pluginsExport(exported);
  if (list === undefined) {
    throw new PluginPackageError(
      `${what} exports no plugins: its main module must export \`plugins\`, an array of plugins made by definePlugin ` +
        `(export const plugins = [myMethod]; or module.exports = { plugins: [myMethod] })`,
    );
  }
  if (!Array.isArray(list) || list.length === 0) {
    throw new PluginPackageError(`${what}: its \`plugins\` export must be a non-empty array of plugins made by definePlugin`);
  }
  const problems = list.flatMap((p, i) => pluginShapeIssues(p).map((issue) => `plugins[${i}] (${pluginLabel(p)}): ${issue}`));
  if (problems.length) {
    throw new PluginPackageError(
      `${what} exports something that is not a valid plugin (fix the package, or remove it from ${ref.source}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
  return list as Plugin[];
}

/** `plugins` as a named export, or on the default export (CommonJS `module.exports = { plugins }`). */
function pluginsExport(exported: Record<string, unknown>): unknown {
  if ('plugins' in exported) return exported.plugins;
  const fallback = exported.default;
  if (typeof fallback === 'object' && fallback !== null && 'plugins' in fallback) return (fallback as { plugins: unknown }).plugins;
  return undefined;
}

function describeRef(ref: PluginPackageRef): string {
  return `plugin package '${ref.package}' (named in ${ref.source})`;
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new PluginPackageError(`cannot read ${file}: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}
