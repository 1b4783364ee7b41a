import { join, relative } from 'node:path';
import { formatFiles, generateFiles, names, offsetFromRoot, updateJson, type Tree } from '@nx/devkit';
import type { PluginKind } from '../plugin';

/**
 * `npx nx g @retain/sdk:plugin --kind method --name ewc` scaffolds a plugin project under
 * activities/<kind>s/<name> (definePlugin, config schema, README, a first test and its
 * conformance test) and registers it with the worker: an import and one line in
 * packages/worker/src/plugins.ts, plus the dependency and project references that line needs.
 *
 * With `--directory <path>` (relative to the workspace, e.g. ../my-lab/retain-plugin-ewc) it
 * scaffolds a standalone package there instead, for the user's own repo: it depends on
 * @retain/sdk (a peer: the project's Retain provides it), exports `plugins`, and is loaded by
 * naming it in a project's package.json `retain.plugins`; nothing in Retain is edited.
 */
export interface PluginGeneratorOptions {
  kind: PluginKind;
  name: string;
  description?: string;
  /** Scaffold a standalone package in this folder (relative to the workspace root) instead of activities/. */
  directory?: string;
  /** The standalone package's npm name (default retain-plugin-<name>). */
  packageName?: string;
}

const KINDS: PluginKind[] = ['benchmark', 'model', 'trainer', 'method', 'quantizer', 'evaluator'];
const CHECKS: Record<PluginKind, string> = {
  benchmark: 'checkBenchmark',
  model: 'checkModel',
  trainer: 'checkTrainer',
  method: 'checkMethod',
  quantizer: 'checkQuantizer',
  evaluator: 'checkEvaluator',
};
/** What a standalone package of each kind imports besides @retain/sdk (all come with Retain). */
const PEERS: Record<PluginKind, string[]> = {
  benchmark: ['@retain/sdk', '@retain/engine', '@retain/data'],
  model: ['@retain/sdk', '@retain/engine', '@retain/data'],
  trainer: ['@retain/sdk', '@retain/engine', '@retain/data'],
  method: ['@retain/sdk'],
  quantizer: ['@retain/sdk', '@retain/engine'],
  evaluator: ['@retain/sdk'],
};

const WORKER = 'packages/worker';
const PLUGINS_FILE = `${WORKER}/src/plugins.ts`;
const REGISTRY_END = '\n];';
const TEMPLATES = join(__dirname, '..', '..', 'templates');

export async function pluginGenerator(tree: Tree, options: PluginGeneratorOptions): Promise<void> {
  if (!KINDS.includes(options.kind)) throw new Error(`--kind '${options.kind}': use one of ${KINDS.join(', ')}`);
  if (!/^[a-z][a-z0-9-]*$/.test(options.name)) {
    throw new Error(`--name '${options.name}': use lower-case words joined by "-" (e.g. online-ewc)`);
  }
  const standalone = options.directory !== undefined;
  const root = standalone ? normalizeDirectory(tree, options.directory!) : `activities/${options.kind}s/${options.name}`;
  if (tree.exists(root) && (!standalone || tree.children(root).length > 0)) {
    throw new Error(`${root} already exists${standalone ? ' and is not empty; choose another --directory' : '; choose another --name'}`);
  }
  const n = names(options.name);
  const packageName = standalone ? (options.packageName ?? `retain-plugin-${options.name}`) : `@retain/${options.kind}-${options.name}`;
  if (!/^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/.test(packageName)) {
    throw new Error(`--packageName '${packageName}' is not a valid npm package name`);
  }
  const exportName = `${n.propertyName}${names(options.kind).className}`;
  const substitutions = {
    ...options,
    ...n,
    description: options.description ?? `TODO: one line on what ${options.name} does.`,
    packageName,
    exportName,
    checkName: CHECKS[options.kind],
    standalone,
    zodFrom: standalone ? '@retain/sdk' : 'zod',
    peers: PEERS[options.kind],
    rootOffset: standalone ? '' : offsetFromRoot(root),
    tmpl: '',
  };
  generateFiles(tree, join(TEMPLATES, 'plugin-src'), root, substitutions);
  generateFiles(tree, join(TEMPLATES, standalone ? 'standalone' : 'plugin'), root, substitutions);

  if (!standalone) register(tree, root, packageName, exportName);
  await formatFiles(tree);
}

/** A folder relative to the workspace root; an absolute path is made relative (it may lie outside). */
function normalizeDirectory(tree: Tree, directory: string): string {
  const rel = directory.startsWith('/') ? relative(tree.root, directory) : directory;
  return rel.replace(/\/+$/, '') || '.';
}

function register(tree: Tree, root: string, packageName: string, exportName: string): void {
  const source = tree.read(PLUGINS_FILE, 'utf-8');
  if (!source || !source.includes(REGISTRY_END)) {
    throw new Error(`${PLUGINS_FILE} has no 'builtinPlugins' list ending in '];': register ${exportName} by hand`);
  }
  const lastImport = source.lastIndexOf('\nimport ');
  const importEnd = source.indexOf('\n', lastImport + 1);
  const withImport = `${source.slice(0, importEnd + 1)}import { ${exportName} } from '${packageName}';\n${source.slice(importEnd + 1)}`;
  const end = withImport.lastIndexOf(REGISTRY_END);
  tree.write(PLUGINS_FILE, `${withImport.slice(0, end)}\n  ${exportName},${withImport.slice(end)}`);

  updateJson(tree, `${WORKER}/package.json`, (pkg) => ({ ...pkg, dependencies: { ...pkg.dependencies, [packageName]: '*' } }));
  const addReference = (tsconfig: string, path: string) =>
    updateJson(tree, tsconfig, (json) => ({ ...json, references: [...(json.references ?? []), { path }] }));
  addReference(`${WORKER}/tsconfig.json`, `../../${root}`);
  addReference('tsconfig.json', root);
}

export default pluginGenerator;
