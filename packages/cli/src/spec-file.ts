import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { SpecError, SpecErrors, type ExperimentSpec, type PluginRegistry } from '@retain/sdk';

/** Reads and validates a spec file; every problem is a SpecError naming its field. */
export function loadSpecFile(path: string, registry: PluginRegistry): ExperimentSpec {
  return registry.validateSpec(readSpecDocument(path));
}

/** A spec file as parsed from YAML, not validated yet (a sweep expands it first). */
export function readSpecDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecErrors([new SpecError('', `cannot read spec file '${path}': ${(err as Error).message}`)]);
  }
  return parseSpecDocument(text, path);
}

export function parseSpec(text: string, registry: PluginRegistry, source = 'spec'): ExperimentSpec {
  return registry.validateSpec(parseSpecDocument(text, source));
}

function parseSpecDocument(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new SpecErrors(doc.errors.map((e) => new SpecError('', `${source} is not valid YAML: ${e.message}`)));
  }
  return doc.toJS();
}
