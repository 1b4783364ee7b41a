import { stringify } from 'yaml';

/** A spec (or any plain object) as the YAML a user writes, for the report's Spec section. */
export function specYaml(spec: unknown): string {
  return stringify(spec, { lineWidth: 120 });
}

/** `name` or `name {"lambda":100}`: a plugin reference of a spec in one line. */
export function pluginLine(ref: unknown): string {
  if (typeof ref === 'string') return ref;
  if (typeof ref === 'object' && ref !== null) {
    const { name, config, id } = ref as { name?: unknown; config?: unknown; id?: unknown };
    const label = typeof id === 'string' ? id : String(name ?? '?');
    const settings = config && typeof config === 'object' && Object.keys(config).length ? ` ${JSON.stringify(config)}` : '';
    return `${label}${settings}`;
  }
  return String(ref);
}

/** The evaluation policy of a spec in words (`all` when the spec leaves it out). */
export function evaluationLine(spec: { evaluation?: { tasks?: unknown } }): string {
  const tasks = spec.evaluation?.tasks ?? 'all';
  if (typeof tasks === 'string') return tasks;
  if (typeof tasks === 'object' && tasks !== null) {
    const [[key, value] = ['?', '?']] = Object.entries(tasks);
    return `${key} ${String(value)}`;
  }
  return String(tasks);
}
