/**
 * `npm run report:screenshot`: the README's picture of a report, made the way a user makes one. It
 * runs a small real experiment with the built CLI on a scratch Temporal dev server (permuted
 * Fashion-MNIST, 4 tasks, an MLP, EWC, RTN int8 and int4), writes its report with `retain report`,
 * opens it in headless chromium (Debian's, as the browser test does) and saves the top of the page
 * (header, heatmaps, task curves, metric tables) as docs/images/report.png. About a minute.
 * `--keep DIR` keeps the spec, results.json and report.html in DIR.
 */
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from '../browser';
import { retainCli } from '../cli-process';
import { startScratchServer } from '../scratch-server';

const ROOT = resolve(__dirname, '../../..');
const PNG = join(ROOT, 'docs/images/report.png');
const RUN_ID = 'report-example';

const SPEC = `# The README's report screenshot (npm run report:screenshot).
name: report-example
seed: 1
benchmark: { name: permuted-fmnist, config: { tasks: 4, trainPerTask: 4000, testPerTask: 1000 } }
model: { name: mlp, config: { hidden: [128] } }
trainer: { name: supervised, config: { epochs: 1, batchSize: 64, lr: 0.01 } }
method: { name: ewc, config: { lambda: 100 } }
quantizers:
  - { name: rtn, config: { bits: 8 } }
  - { name: rtn, config: { bits: 4 } }
`;

async function main(): Promise<void> {
  const keep = process.argv.indexOf('--keep');
  const dir = keep >= 0 ? resolve(process.argv[keep + 1] ?? 'report-example') : mkdtempSync(join(tmpdir(), 'retain-report-example-'));
  mkdirSync(dir, { recursive: true });
  const scratch = await startScratchServer('retain-report-screenshot');
  try {
    const env = {
      TEMPORAL_ADDRESS: scratch.server.address,
      TEMPORAL_NAMESPACE: scratch.server.namespace,
      RETAIN_HOME: join(scratch.dir, 'home'),
    };
    const spec = join(dir, 'spec.yaml');
    writeFileSync(spec, SPEC);
    await cli(['run', spec, '--id', RUN_ID, '--out', dir], env);
    const html = join(dir, 'report.html');
    await cli(['report', RUN_ID, '--out', html], env);

    const browser = await launchChromium({ width: 1100, height: 800 });
    try {
      const page = await browser.context.newPage();
      await page.goto(`file://${html}`, { waitUntil: 'load' });
      const metrics = await page.locator('section#metrics').boundingBox();
      if (!metrics) throw new Error(`${html}: no metrics section to end the screenshot at`);
      mkdirSync(join(ROOT, 'docs/images'), { recursive: true });
      await page.screenshot({
        path: PNG,
        fullPage: true,
        clip: { x: 0, y: 0, width: 1100, height: Math.ceil(metrics.y + metrics.height) },
      });
    } finally {
      await browser.close();
    }
    console.log(`${PNG} (${Math.round(statSync(PNG).size / 1000)} KB) from ${html}`);
  } finally {
    await scratch.close();
  }
}

async function cli(args: string[], env: Record<string, string>): Promise<void> {
  const { code, stderr } = await retainCli(args, env);
  if (code !== 0) throw new Error(`retain ${args.join(' ')} exited with ${code}:\n${stderr}`);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
