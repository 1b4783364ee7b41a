import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Temporal's workflow sandbox rejects Node built-ins and this package promises to be importable there.
describe('sandbox safety', () => {
  it('library sources import nothing but each other', () => {
    const sources = readdirSync(__dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(0);
    for (const file of sources) {
      const text = readFileSync(join(__dirname, file), 'utf8');
      const specifiers = [...text.matchAll(/(?:from|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const spec of specifiers) expect(`${file}: ${spec}`).toMatch(/: \.\//);
    }
  });
});
