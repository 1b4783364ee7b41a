import type { z } from 'zod';
import { pluginShapeIssues } from '../plugin-shape';
import { Checks, firstDifference } from './report';

const UNKNOWN_KEY = 'conformanceUnknownKey';

/**
 * The checks every plugin's config passes, whatever its kind: the plugin has a valid shape,
 * `{}` (a spec naming the plugin alone) parses to the defaults, parsing is idempotent (the worker
 * re-parses configs the CLI already filled) and survives JSON (specs travel through Temporal as
 * JSON), an unknown key is rejected naming it (a typo must not pass silently), and `label` of the
 * defaults is an id a spec could write. `valid` adds configs that must parse the same way.
 */
export async function configChecks<C>(checks: Checks, plugin: ConfiguredPlugin<C>, valid: unknown[] = []): Promise<void> {
  await checks.run('shape', () => {
    const issues = pluginShapeIssues(plugin);
    return issues.length ? issues.join('; ') : undefined;
  });
  const schema = plugin.configSchema;
  for (const [i, raw] of [{}, ...valid].entries()) {
    const what = i === 0 ? 'defaults ({})' : `config ${JSON.stringify(raw)}`;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      checks.fail(`config: ${what} parses`, parsed.error.issues.map((e) => `${e.path.join('.') || '(config)'}: ${e.message}`).join('; '));
      continue;
    }
    const config = parsed.data;
    await checks.run(`config: ${what} parses again to itself`, () => firstDifference(schema.parse(config), config));
    await checks.run(`config: ${what} survives JSON`, () => firstDifference(schema.parse(JSON.parse(JSON.stringify(config))), config));
    if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
      await checks.run(`config: ${what} plus an unknown key is rejected, naming it`, () => {
        const result = schema.safeParse({ ...config, [UNKNOWN_KEY]: 1 });
        if (result.success) return `'${UNKNOWN_KEY}' was accepted: build the schema with z.strictObject`;
        return JSON.stringify(result.error.issues).includes(UNKNOWN_KEY) ? undefined : `the error does not name the key`;
      });
    }
    if (plugin.label) {
      await checks.run(`config: label of ${what}`, () => {
        const label = plugin.label!(config);
        return typeof label === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(label) ? undefined : `'${label}' is not an id`;
      });
    }
  }
}

/** `{}` parsed by the plugin's schema, or `config` when given: what a check runs the plugin with. */
export function parsedConfig<C>(plugin: ConfiguredPlugin<C>, config: unknown): C {
  return plugin.configSchema.parse(config ?? {});
}

/** What the config checks read of a plugin of any kind. */
export interface ConfiguredPlugin<C> {
  configSchema: z.ZodType<C>;
  label?(config: C): string;
}
