import { join } from 'node:path';
import { formatFiles, generateFiles, names, offsetFromRoot, updateJson, type Tree } from '@nx/devkit';

/**
 * `npx nx g @retain/sdk:plugin --kind method --name ewc` scaffolds a plugin project under
 * activities/<kind>s/<name> (definePlugin, config schema, README, a first test) and registers it
 * with the worker: an import and one line in packages/worker/src/plugins.ts, plus the dependency
 * and project references that line needs. Every plugin then starts alike.
 */
export interface PluginGeneratorOptions {
  kind: 'method' | 'quantizer' | 'evaluator';
  name: string;
  description?: string;
}

const WORKER = 'packages/worker';
const PLUGINS_FILE = `${WORKER}/src/plugins.ts`;
const REGISTRY_END = '\n];';

export async function pluginGenerator(tree: Tree, options: PluginGeneratorOptions): Promise<void> {
  if (!/^[a-z][a-z0-9-]*$/.test(options.name)) {
    throw new Error(`--name '${options.name}': use lower-case words joined by "-" (e.g. online-ewc)`);
  }
  const root = `activities/${options.kind}s/${options.name}`;
  if (tree.exists(root)) throw new Error(`${root} already exists; choose another --name`);
  const n = names(options.name);
  const packageName = `@retain/${options.kind}-${options.name}`;
  const exportName = `${n.propertyName}${names(options.kind).className}`;

  generateFiles(tree, join(__dirname, '..', '..', 'templates', 'plugin'), root, {
    ...options,
    ...n,
    description: options.description ?? `TODO: one line on what ${options.name} does.`,
    packageName,
    exportName,
    rootOffset: offsetFromRoot(root),
    tmpl: '',
  });

  register(tree, root, packageName, exportName);
  await formatFiles(tree);
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
