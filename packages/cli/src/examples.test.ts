import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRegistry } from '@retain/worker';
import { loadSpecFile } from './spec-file';

// Every spec under examples/ is what a new user runs first: each must validate against the
// registered plugins, so a renamed field or plugin breaks this test, not the user's first run.
const dir = join(__dirname, '..', '..', '..', 'examples');
const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('examples/', () => {
  it('holds the examples the README lists', () => {
    expect(examples).toEqual(expect.arrayContaining(['permuted-fmnist-qat.yaml', 'split-fmnist-resnet.yaml', 'text-transformer.yaml']));
  });

  test.each(examples)('%s validates and is named after its file', (file) => {
    const spec = loadSpecFile(join(dir, file), defaultRegistry());
    expect(`${spec.name}.yaml`).toBe(file);
  });
});
