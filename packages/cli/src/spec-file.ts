import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { isCollection, LineCounter, parseDocument, visit, type Alias, type Document } from 'yaml';
import { SpecError, SpecErrors, type ExperimentSpec, type PluginRegistry, type ValidateOptions } from '@retain/sdk';

/**
 * What the CLI validates a spec against besides the spec: this machine's memory (the run's
 * estimated peak must fit in it; sdk memory.ts).
 */
export function machineLimits(): ValidateOptions {
  return { memoryBytes: totalmem() };
}

/** Reads and validates a spec file; every problem is a SpecError naming its field, or the file, line and column. */
export function loadSpecFile(path: string, registry: PluginRegistry): ExperimentSpec {
  return registry.validateSpec(readSpecDocument(path), machineLimits());
}

/** A spec file as parsed from YAML, not validated yet (a sweep expands it first); file and YAML problems refused as loadSpecFile does. */
export function readSpecDocument(path: string): unknown {
  return parseSpecDocument(decodeSpecFile(path), path);
}

/** The file's text: refused with what is wrong with it when it is not there, not a file, or not UTF-8 text. */
function decodeSpecFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory; give the path of a spec file (.yaml)'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw fileError(path, `cannot read the spec: ${why}`);
  }
  // UTF-16 (Windows editors' "Unicode"): a byte-order mark, or every other byte zero in ASCII text.
  const bom16 = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
  const zeros = bytes.subarray(0, 64).filter((b) => b === 0).length;
  if (bom16 || (bytes.length >= 4 && zeros * 2 >= Math.min(bytes.length, 64) - 1)) {
    throw fileError(path, 'the file is UTF-16 text; save it as UTF-8 (a YAML spec is UTF-8)');
  }
  const nul = bytes.indexOf(0);
  let text: string;
  try {
    if (nul >= 0) throw new Error('NUL byte');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fileError(path, `not a text file (binary data${nul >= 0 ? ` at byte ${nul}` : ': not UTF-8'}); a spec is YAML text in UTF-8`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function fileError(source: string, problem: string): SpecErrors {
  return new SpecErrors([new SpecError(source, problem)]);
}

/**
 * Parses YAML text and validates it as a spec. YAML problems name `<source>:<line>:<column>`;
 * aliases are resolved with yaml's guard against alias bombs ("billion laughs"), whose refusal
 * names the alias's line too.
 */
export function parseSpec(text: string, registry: PluginRegistry, source = 'spec', options: ValidateOptions = {}): ExperimentSpec {
  return registry.validateSpec(parseSpecDocument(text, source), options);
}

/** YAML text as plain data; syntax and alias errors with their line and column, an empty document refused. */
function parseSpecDocument(text: string, source: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SpecErrors(
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        // prettyErrors appends " at line L, column C:" and the source excerpt; the position goes in front instead.
        const reason = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
        return new SpecError(
          at ? `${source}:${at.line}:${at.col}` : source,
          `not valid YAML: ${reason} (line ${at?.line ?? '?'}, column ${at?.col ?? '?'})`,
        );
      }),
    );
  }
  if (doc.contents === null) {
    throw fileError(source, 'the spec is empty; it needs at least name, benchmark, model and trainer (see examples/)');
  }
  return toJs(doc, lines, source);
}

/** The document as plain data, its alias problems refused with the alias's position. */
function toJs(doc: Document, lines: LineCounter, source: string): unknown {
  const at = (node: Alias) => {
    const pos = lines.linePos(node.range?.[0] ?? 0);
    return { field: `${source}:${pos.line}:${pos.col}`, where: `line ${pos.line}, column ${pos.col}` };
  };
  const aliases: Alias[] = [];
  visit(doc, { Alias: (_key, node) => void aliases.push(node) });
  const unresolved = aliases.find((a) => a.resolve(doc) === undefined);
  if (unresolved) {
    const { field, where } = at(unresolved);
    throw fileError(field, `alias *${unresolved.source} has no anchor &${unresolved.source} before it (${where}); define the anchor first`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    // The alias that multiplies: the first one whose anchored node holds aliases itself.
    const nested = aliases.find((a) => {
      const target = a.resolve(doc);
      let holds = false;
      if (isCollection(target)) visit(target, { Alias: () => void (holds = true) });
      return holds;
    });
    const culprit = nested ?? aliases[0];
    const { field, where } = culprit ? at(culprit) : { field: source, where: 'somewhere' };
    throw fileError(
      field,
      `aliases expand to too much data (${where}: *${culprit?.source ?? '?'} repeats a node that repeats others, the "billion laughs" pattern); write the values out instead`,
    );
  }
}
