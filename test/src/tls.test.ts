import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from '@retain/infra/testing';
import { retainCli } from './cli-process';

/** The built CLI as a separate process, with no Temporal setting of the developer's or the test run's leaking in. */
function retain(args: string[], env: Record<string, string>) {
  const unsetTemporal = Object.fromEntries(
    Object.keys(process.env)
      .filter((name) => name.startsWith('TEMPORAL_'))
      .map((name) => [name, undefined]),
  );
  return retainCli(args, { ...unsetTemporal, XDG_CONFIG_HOME: join(dir, 'config'), ...env });
}

// The pinned dev server has no TLS options: a TLS-terminating proxy (ALPN h2) in front of the test
// run's plaintext dev server is the TLS endpoint, once with server auth only, once demanding mTLS.
let dir: string;
let pki: TestPki;
let serverAuth: TlsProxy;
let mutual: TlsProxy;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retain-tls-'));
  pki = await makeTestPki(join(dir, 'pki'));
  const target = process.env.TEMPORAL_ADDRESS;
  if (!target) throw new Error('TEMPORAL_ADDRESS is not set: run these tests through jest (test/jest.config.js starts a dev server)');
  const pem = (file: string) => readFileSync(file, 'utf8');
  serverAuth = await startTlsProxy({ target, cert: pem(pki.serverCert), key: pem(pki.serverKey) });
  mutual = await startTlsProxy({ target, cert: pem(pki.serverCert), key: pem(pki.serverKey), clientCa: pem(pki.caCert) });
});
afterAll(async () => {
  await serverAuth?.close();
  await mutual?.close();
  rmSync(dir, { recursive: true, force: true });
});

const namespace = () => process.env.TEMPORAL_NAMESPACE ?? 'default';

test('server-auth TLS and an API key from TEMPORAL_* variables: `retain ls` connects and says so', async () => {
  const { code, stderr } = await retain(['ls'], {
    RETAIN_HOME: join(dir, 'state-ls'),
    TEMPORAL_ADDRESS: serverAuth.address,
    TEMPORAL_NAMESPACE: namespace(),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    // The dev server checks no key; this shows a key travels (as a bearer header) without breaking the connection.
    TEMPORAL_API_KEY: 'test-key',
  });
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  expect(stderr).toContain(
    `Temporal: ${serverAuth.address} (TEMPORAL_ADDRESS), namespace ${namespace()}, TLS on, server CA from ` +
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH=${pki.caCert}, API key from TEMPORAL_API_KEY`,
  );
});

test('mTLS from a profile of the Temporal config file: a tiny `retain run` (client and worker) finishes through the proxy', async () => {
  const config = join(dir, 'temporal.toml');
  writeFileSync(
    config,
    [
      '[profile.lab]',
      `address = "${mutual.address}"`,
      `namespace = "${namespace()}"`,
      '[profile.lab.tls]',
      `server_ca_cert_path = "${pki.caCert}"`,
      `client_cert_path = "${pki.clientCert}"`,
      `client_key_path = "${pki.clientKey}"`,
      '',
    ].join('\n'),
  );
  const spec = join(dir, 'tiny.yaml');
  writeFileSync(
    spec,
    [
      'name: tls-tiny',
      'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 200, testPerTask: 100 } }',
      'model: { name: mlp, config: { hidden: [16] } }',
      'trainer: supervised',
      `execution: { taskQueue: tls-${process.pid} }`,
      '',
    ].join('\n'),
  );
  const out = join(dir, 'out');
  const { code, stderr } = await retain(['run', spec, '--out', out], {
    RETAIN_HOME: join(dir, 'state-run'),
    TEMPORAL_CONFIG_FILE: config,
    TEMPORAL_PROFILE: 'lab',
  });
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  expect(stderr).toContain(`(profile 'lab' of ${config}), namespace ${namespace()}, TLS on with a client certificate (mTLS)`);
  expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).tasks).toHaveLength(1);
});

test('a wrong CA fails within the handshake, naming TEMPORAL_TLS_SERVER_CA_CERT_PATH', async () => {
  const { code, stderr } = await retain(['ls'], {
    RETAIN_HOME: join(dir, 'state-wrong-ca'),
    TEMPORAL_ADDRESS: serverAuth.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.wrongCaCert,
  });
  expect(code).toBe(2); // bad input: nothing started
  expect(stderr).toMatch(/the server's certificate is not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*wrong-ca\.pem/);
});

test('mTLS without a client certificate fails naming what to configure', async () => {
  const { code, stderr } = await retain(['ls'], {
    RETAIN_HOME: join(dir, 'state-no-cert'),
    TEMPORAL_ADDRESS: mutual.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
  });
  expect(code).toBe(2); // bad input: nothing started
  expect(stderr).toMatch(
    /the server requires a client certificate \(mTLS\)\. Set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
  );
});
