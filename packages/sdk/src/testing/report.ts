/**
 * What a conformance check found. Each check either passes (`passed`), does not apply to this
 * plugin (`skipped`, with the reason) or fails; a check with any failure throws a ConformanceError
 * listing them all, so a plugin's test is one `await checkX(plugin)` line.
 */
export interface ConformanceReport {
  plugin: string;
  passed: string[];
  skipped: string[];
}

export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
  constructor(
    readonly plugin: string,
    readonly failures: string[],
  ) {
    super(`${plugin} fails ${failures.length} conformance check(s):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  }
}

export class Checks {
  readonly passed: string[] = [];
  readonly skipped: string[] = [];
  readonly failures: string[] = [];
  constructor(readonly plugin: string) {}

  /** Records `name` as passed, or as failed with `problem` (a string) or the error it throws. */
  async run(name: string, check: () => Promise<string | undefined> | string | undefined): Promise<void> {
    try {
      const problem = await check();
      if (problem === undefined) this.passed.push(name);
      else this.failures.push(`${name}: ${problem}`);
    } catch (err) {
      this.failures.push(`${name}: threw ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }

  skip(name: string, why: string): void {
    this.skipped.push(`${name} (${why})`);
  }

  fail(name: string, problem: string): void {
    this.failures.push(`${name}: ${problem}`);
  }

  done(): ConformanceReport {
    if (this.failures.length) throw new ConformanceError(this.plugin, this.failures);
    return { plugin: this.plugin, passed: this.passed, skipped: this.skipped };
  }
}

/**
 * The first place where two values differ, as a path and both values; undefined when they are
 * equal. Typed arrays compare element by element, bit for bit (NaN equals NaN); functions are skipped.
 */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (Object.is(a, b)) return undefined;
  const where = path || '(value)';
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as unknown as ArrayLike<number | bigint>;
    const y = b as unknown as ArrayLike<number | bigint>;
    if (x.length !== y.length) return `${where}: length ${x.length} vs ${y.length}`;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `${where}[${i}]: ${x[i]} vs ${y[i]}`;
    return undefined;
  }
  if (typeof a === 'function' && typeof b === 'function') return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${where}: ${show(a)} vs ${show(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${where}: an array vs an object`;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return undefined;
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v)?.slice(0, 80) ?? String(v);
  } catch {
    return String(v);
  }
}
