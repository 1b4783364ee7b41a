import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { log } from '../output';
import { specJsonSchemaText } from '../spec-schema';
import { pluginRegistry, pluginsOption } from './plugins';

/** `schema`: the spec's JSON Schema, for editors (yaml-language-server) and other tools. */
export function addSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description("print the spec's JSON Schema (every plugin's config included), for editors; retain.schema.json is its copy")
    .option('--out <file>', 'write it to this file instead of stdout')
    .addOption(pluginsOption())
    .action(async (opts: { out?: string; plugins?: string[] }) => {
      const text = specJsonSchemaText(await pluginRegistry(opts.plugins));
      if (!opts.out) {
        process.stdout.write(text);
        return;
      }
      writeFileSync(opts.out, text);
      log(`JSON Schema written to ${opts.out}`);
    });
}
