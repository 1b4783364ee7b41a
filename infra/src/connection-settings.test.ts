import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionSettingsError, describeConnection, loadConnectionSettings } from './connection-settings';
import { makeTestPki, type TestPki } from './testing/tls';

let dir: string;
let pki: TestPki;
/** An environment with no Temporal settings at all: HOME points at an empty folder (no config file). */
let bare: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retain-conn-settings-'));
  pki = await makeTestPki(join(dir, 'pki'));
  bare = { HOME: join(dir, 'home') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const toml = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const failure = (env: Record<string, string>): string => {
  try {
    loadConnectionSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectionSettingsError);
    return (err as Error).message;
  }
  throw new Error('expected loadConnectionSettings to fail');
};

test('nothing configured: no address (the embedded dev server), TLS off, plain options', () => {
  const settings = loadConnectionSettings(bare);
  expect(settings).toMatchObject({ address: undefined, namespace: undefined, profile: 'default', tls: undefined, apiKey: undefined });
  expect(settings.configFile).toBeUndefined();
  expect(settings.connect).toEqual({ tls: undefined, apiKey: undefined, metadata: undefined });
  expect(describeConnection(settings, { address: '127.0.0.1:7233', namespace: 'default' })).toBe(
    'Temporal: the embedded dev server at 127.0.0.1:7233, namespace default, TLS off',
  );
});

test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE alone: that server, TLS off; a blank address counts as unset', () => {
  const settings = loadConnectionSettings({ ...bare, TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'lab' });
  expect(settings).toMatchObject({ address: 'temporal.example:7233', namespace: 'lab', addressSource: 'TEMPORAL_ADDRESS', tls: undefined });
  expect(loadConnectionSettings({ ...bare, TEMPORAL_ADDRESS: ' ' }).address).toBeUndefined();
});

test('an empty config file configures nothing; naming a profile it lacks says so', () => {
  const empty = toml('empty.toml', '');
  const settings = loadConnectionSettings({ ...bare, TEMPORAL_CONFIG_FILE: empty, TEMPORAL_ADDRESS: '10.0.0.1:7233' });
  expect(settings).toMatchObject({ address: '10.0.0.1:7233', tls: undefined, apiKey: undefined });
  expect(failure({ ...bare, TEMPORAL_CONFIG_FILE: empty, TEMPORAL_PROFILE: 'lab' })).toBe(
    `TEMPORAL_PROFILE=lab: ${empty} declares no profile. Add [profile.lab] to it, or unset TEMPORAL_PROFILE.`,
  );
});

test('a profile of the config file, chosen by TEMPORAL_PROFILE, its TLS files read; TEMPORAL_* variables override it', () => {
  const file = toml(
    'profiles.toml',
    [
      '[profile.default]',
      'address = "127.0.0.1:7233"',
      '[profile.lab]',
      'address = "lab.example:7233"',
      'namespace = "lab-ns"',
      '[profile.lab.tls]',
      `server_ca_cert_path = "${pki.caCert}"`,
      `client_cert_path = "${pki.clientCert}"`,
      `client_key_path = "${pki.clientKey}"`,
      'server_name = "localhost"',
    ].join('\n'),
  );
  const settings = loadConnectionSettings({ ...bare, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'lab' });
  expect(settings).toMatchObject({ address: 'lab.example:7233', namespace: 'lab-ns', profile: 'lab', configFile: file });
  expect(settings.addressSource).toBe(`address of profile 'lab' in ${file}`);
  expect(settings.tls?.serverCa?.source).toBe(`tls.server_ca_cert_path of profile 'lab' in ${file}`);
  expect(settings.tls?.client?.certSource).toBe(`tls.client_cert_path of profile 'lab' in ${file}`);
  const tls = settings.connect.tls;
  if (typeof tls !== 'object') throw new Error(`expected a TLS config, got ${String(tls)}`);
  expect(tls.serverNameOverride).toBe('localhost');
  expect(Buffer.from(tls.serverRootCACertificate ?? []).toString()).toBe(readFileSync(pki.caCert, 'utf8'));
  expect(Buffer.from(tls.clientCertPair?.crt ?? []).toString()).toBe(readFileSync(pki.clientCert, 'utf8'));
  expect(describeConnection(settings, { address: 'lab.example:7233', namespace: 'lab-ns' })).toBe(
    `Temporal: lab.example:7233 (profile 'lab' of ${file}), namespace lab-ns, TLS on with a client certificate (mTLS), ` +
      `server CA from tls.server_ca_cert_path`,
  );

  const overridden = loadConnectionSettings({ ...bare, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'lab', TEMPORAL_ADDRESS: 'other:1' });
  expect(overridden).toMatchObject({ address: 'other:1', addressSource: 'TEMPORAL_ADDRESS', namespace: 'lab-ns' });
  expect(describeConnection(overridden, { address: 'other:1', namespace: 'lab-ns' })).toMatch(
    new RegExp(`^Temporal: other:1 \\(TEMPORAL_ADDRESS\\), namespace lab-ns, profile 'lab' of ${file}, TLS on`),
  );
  // The standard file location (XDG_CONFIG_HOME/temporalio/temporal.toml) with its default profile.
  const xdg = join(dir, 'xdg');
  mkdirSync(join(xdg, 'temporalio'), { recursive: true });
  writeFileSync(join(xdg, 'temporalio', 'temporal.toml'), readFileSync(file));
  expect(loadConnectionSettings({ ...bare, XDG_CONFIG_HOME: xdg })).toMatchObject({ address: '127.0.0.1:7233', profile: 'default' });
});

test('an API key turns TLS on (system CAs) and is sent by both connections', () => {
  const settings = loadConnectionSettings({ ...bare, TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233', TEMPORAL_API_KEY: 'secret' });
  expect(settings.connect).toMatchObject({ apiKey: 'secret', tls: true });
  expect(settings.tls?.enabledBy).toBe('TEMPORAL_API_KEY (an API key implies TLS)');
  expect(describeConnection(settings, { address: 'x.tmprl.cloud:7233', namespace: 'default' })).toMatch(
    /TLS on, system CAs, API key from TEMPORAL_API_KEY$/,
  );
  // TEMPORAL_TLS=false wins over the key's default.
  expect(loadConnectionSettings({ ...bare, TEMPORAL_ADDRESS: 'a:1', TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).connect.tls).toBe(
    false,
  );
});

test('wrong or missing TLS material fails at once, naming the setting', () => {
  const env = { ...bare, TEMPORAL_ADDRESS: '127.0.0.1:7233' };
  expect(failure({ ...env, TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'nope.pem') })).toMatch(
    /^TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*nope\.pem: cannot read it \(ENOENT/,
  );
  expect(failure({ ...env, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.clientKey })).toMatch(
    /^TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*client\.key: not a PEM certificate/,
  );
  expect(failure({ ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.serverKey })).toMatch(
    /^TEMPORAL_TLS_CLIENT_KEY_PATH=.*server\.key: this key does not belong to the client certificate \(TEMPORAL_TLS_CLIENT_CERT_PATH=/,
  );
  expect(failure({ ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert })).toMatch(
    /^TEMPORAL_TLS_CLIENT_CERT_PATH=.* is set but its pair is not: .*set TEMPORAL_TLS_CLIENT_KEY_PATH/,
  );
  expect(failure({ ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.caCert })).toMatch(
    /^TEMPORAL_TLS_CLIENT_KEY_PATH=.*ca\.pem: not a PEM private key/,
  );
  const file = toml(
    'bad-key.toml',
    `[profile.default]\naddress = "a:1"\n[profile.default.tls]\nclient_cert_path = "${pki.clientCert}"\nclient_key_path = "${pki.serverKey}"\n`,
  );
  expect(failure({ ...bare, TEMPORAL_CONFIG_FILE: file })).toMatch(
    new RegExp(`^tls\\.client_key_path of profile 'default' in ${file}: this key does not belong`),
  );
});

test('settings that cannot work together, or name what is not there, fail naming them', () => {
  expect(failure({ ...bare, TEMPORAL_API_KEY: 'k' })).toMatch(
    /^TEMPORAL_API_KEY is set, but no Temporal server address is: set TEMPORAL_ADDRESS/,
  );
  expect(failure({ ...bare, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert })).toMatch(
    /^TEMPORAL_TLS_SERVER_CA_CERT_PATH=.* is set, but no Temporal server address is/,
  );
  expect(failure({ ...bare, TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') })).toMatch(
    /^TEMPORAL_CONFIG_FILE=.*missing\.toml: no such file/,
  );
  expect(failure({ ...bare, TEMPORAL_PROFILE: 'lab' })).toMatch(
    /^TEMPORAL_PROFILE=lab, but there is no Temporal config file \(looked for .*home\/\.config\/temporalio\/temporal\.toml\)/,
  );
  const file = toml('two.toml', '[profile.a]\naddress = "a:1"\n[profile.b]\naddress = "b:1"\n');
  expect(failure({ ...bare, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'c' })).toMatch(
    /^TEMPORAL_PROFILE=c: .*two\.toml has no \[profile\.c\] \(it has: a, b\)/,
  );
  expect(failure({ ...bare, TEMPORAL_ADDRESS: 'a:1', TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toMatch(
    /^TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported .* set TEMPORAL_TLS_SERVER_NAME/,
  );
  const broken = toml('broken.toml', '[profile.a\naddress = 1\n');
  expect(failure({ ...bare, TEMPORAL_CONFIG_FILE: broken })).toMatch(
    /^Cannot load the Temporal connection settings \(config file .*broken\.toml/,
  );
});
