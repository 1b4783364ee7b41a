import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { BadInputError, log } from '../output';
import { starterSpec } from '../starter-spec';

/** The committed schema of the checkout this CLI runs from (src/commands or dist/commands, four levels down). */
const CHECKOUT_SCHEMA = resolve(__dirname, '..', '..', '..', '..', 'retain.schema.json');

/** `init`: a commented starter spec. */
export function addInitCommand(program: Command): void {
  program
    .command('init')
    .description('write a commented starter spec (every section, sane defaults, the schema comment for editors)')
    .argument('[file]', 'the spec to write', 'spec.yaml')
    .option('--force', 'overwrite the file if it exists')
    .action((file: string, opts: { force?: boolean }) => {
      const path = resolve(file);
      const schemaPath = existsSync(CHECKOUT_SCHEMA) ? relativePath(dirname(path), CHECKOUT_SCHEMA) : 'retain.schema.json';
      const text = starterSpec({ name: basename(path, extname(path)), schemaPath });
      try {
        writeFileSync(path, text, { flag: opts.force ? 'w' : 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new BadInputError(`${file} already exists; choose another file, or pass --force to overwrite it`);
        }
        throw err;
      }
      log(`starter spec written to ${file}; check it with \`npx retain validate ${file}\`, run it with \`npx retain run ${file}\``);
      if (!existsSync(CHECKOUT_SCHEMA))
        log('for editor completion, write the schema next to it: `npx retain schema --out retain.schema.json`');
    });
}

/** A path the YAML language server resolves from the spec's folder: relative, with forward slashes. */
function relativePath(from: string, to: string): string {
  const rel = relative(from, to).split('\\').join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}
