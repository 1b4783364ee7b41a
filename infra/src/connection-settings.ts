import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { platform } from 'node:os';
import * as path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import {
  loadClientConfig,
  loadClientConfigProfile,
  toClientOptions,
  type ClientConfigProfile,
  type ClientConfigTLS,
  type ConfigDataSource,
} from '@temporalio/envconfig';

/**
 * A setting that is wrong or missing: the message names it (the `TEMPORAL_*` variable, or the
 * profile's field and its file) and says what to do. Thrown before the SDK connects (by
 * loadConnectionSettings, and by checkTlsEndpoint for a refused handshake); the CLI exits 2 on it.
 */
export class ConnectionSettingsError extends Error {
  override readonly name = 'ConnectionSettingsError';
}

/** What `Connection.connect` (the client) and `NativeConnection.connect` (the worker) both take. */
export interface TemporalConnectOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** The TLS material in use, each with the setting it came from (for messages). */
export interface TlsSettings {
  serverCa?: { pem: Buffer; source: string };
  client?: { cert: Buffer; certSource: string; key: Buffer; keySource: string };
  serverName?: { value: string; source: string };
  /** Why TLS is on: the setting that turned it on. */
  enabledBy: string;
}

/**
 * Where Retain connects to Temporal, loaded through Temporal's own configuration library
 * (`@temporalio/envconfig`): the profile `TEMPORAL_PROFILE` (default `default`) of the TOML config
 * file (`TEMPORAL_CONFIG_FILE`, default `~/.config/temporalio/temporal.toml`), overridden by the
 * `TEMPORAL_*` variables. The same settings serve the client and the worker.
 */
export interface ConnectionSettings {
  /** Absent: nothing names a server, so Retain uses its embedded dev server. */
  address?: string;
  /** Absent: `default`. */
  namespace?: string;
  /** The profile's name, and the config file it came from (absent when no file was read). */
  profile: string;
  configFile?: string;
  /** Which setting named the address (`TEMPORAL_ADDRESS`, or the profile's `address`). */
  addressSource?: string;
  apiKey?: { source: string };
  /** Absent: TLS off. */
  tls?: TlsSettings;
  /** Options for both connections, less the address (the embedded server's is known only later). */
  connect: Omit<TemporalConnectOptions, 'address'>;
}

type Env = Record<string, string | undefined>;

/**
 * Loads the connection settings, reads and checks every certificate and key they name (parses,
 * cert/key pairing, validity dates), and fails with a {@link ConnectionSettingsError} naming the
 * setting at fault. Nothing connects here.
 */
export function loadConnectionSettings(env: Env = process.env): ConnectionSettings {
  const vars = definedVars(env);
  const configFile = configFilePath(vars);
  if (vars.TEMPORAL_CONFIG_FILE && !existsSync(vars.TEMPORAL_CONFIG_FILE)) {
    throw new ConnectionSettingsError(
      `TEMPORAL_CONFIG_FILE=${vars.TEMPORAL_CONFIG_FILE}: no such file. Point it at a Temporal config file (TOML), or unset it.`,
    );
  }
  if (vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' || vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1') {
    // envconfig reads it, but the TypeScript SDK's connections cannot skip the check: refuse rather than ignore.
    throw new ConnectionSettingsError(
      `TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by Retain's Temporal SDK: unset it, and set TEMPORAL_TLS_SERVER_NAME ` +
        `to a name the server's certificate holds instead.`,
    );
  }
  const fileRead = configFile !== undefined && existsSync(configFile) ? configFile : undefined;
  const profileName = vars.TEMPORAL_PROFILE || 'default';
  if (vars.TEMPORAL_PROFILE && !fileRead) {
    throw new ConnectionSettingsError(
      `TEMPORAL_PROFILE=${vars.TEMPORAL_PROFILE}, but there is no Temporal config file (looked for ${configFile ?? 'none: HOME is not set'}). ` +
        `Set TEMPORAL_CONFIG_FILE to the file that holds [profile.${vars.TEMPORAL_PROFILE}], or unset TEMPORAL_PROFILE.`,
    );
  }
  const profile = loadProfile(vars, profileName, fileRead);
  const field = (name: string): string => `${name} of profile '${profileName}' in ${fileRead ?? 'the config file'}`;
  const sourceOf = (envName: string, fieldName: string): string => (vars[envName] !== undefined ? envName : field(fieldName));

  const address = profile.address?.trim() || undefined;
  const namespace = profile.namespace?.trim() || undefined;
  const apiKey = profile.apiKey ? { source: sourceOf('TEMPORAL_API_KEY', 'api_key') } : undefined;
  const tls = readTls(profile, vars, field, apiKey?.source);
  if (!address && (tls || apiKey)) {
    throw new ConnectionSettingsError(
      `${apiKey ? apiKey.source : tls?.enabledBy} is set, but no Temporal server address is: set TEMPORAL_ADDRESS ` +
        `(or address in profile '${profileName}'). Without an address Retain uses its embedded dev server, which has neither TLS nor API keys.`,
    );
  }

  // The library's own conversion (TLS on for an API key, gRPC metadata), from the checked bytes.
  const checked: ClientConfigProfile = { ...profile, address, tls: tls && profile.tls ? checkedTls(profile.tls, tls) : profile.tls };
  const options = toClientOptions(checked).connectionOptions;
  return {
    address,
    namespace,
    profile: profileName,
    configFile: fileRead,
    addressSource: address ? sourceOf('TEMPORAL_ADDRESS', 'address') : undefined,
    apiKey,
    tls,
    connect: {
      tls: options.tls ?? undefined,
      apiKey: profile.apiKey,
      metadata: options.metadata && Object.keys(options.metadata).length > 0 ? stringMetadata(options.metadata) : undefined,
    },
  };
}

/** One line for the log: the server, namespace, profile, and whether TLS (and mTLS, an API key) is on. */
export function describeConnection(settings: ConnectionSettings, server: { address: string; namespace: string }): string {
  const profile = settings.configFile ? `profile '${settings.profile}' of ${settings.configFile}` : undefined;
  // Inside the line, a field of that profile needs no "of profile ... in <file>" again.
  const short = (source: string): string =>
    profile ? source.replace(` of profile '${settings.profile}' in ${settings.configFile}`, '') : source;
  const fromProfile = profile !== undefined && settings.addressSource !== 'TEMPORAL_ADDRESS';
  const where = settings.address
    ? `${server.address} (${fromProfile ? profile : 'TEMPORAL_ADDRESS'})`
    : `the embedded dev server at ${server.address}`;
  const parts = [`Temporal: ${where}`, `namespace ${server.namespace}`];
  if (profile && !fromProfile) parts.push(profile);
  const tls = settings.tls;
  parts.push(tls ? `TLS on${tls.client ? ' with a client certificate (mTLS)' : ''}` : 'TLS off');
  if (tls) parts.push(tls.serverCa ? `server CA from ${short(tls.serverCa.source)}` : 'system CAs');
  if (settings.apiKey) parts.push(`API key from ${short(settings.apiKey.source)}`);
  return parts.join(', ');
}

/** The config file envconfig reads: TEMPORAL_CONFIG_FILE, else the user's config dir's temporalio/temporal.toml. */
export function configFilePath(vars: Record<string, string>): string | undefined {
  if (vars.TEMPORAL_CONFIG_FILE) return vars.TEMPORAL_CONFIG_FILE;
  // The same rule as envconfig's default path, so the file Retain names is the file it read.
  switch (platform()) {
    case 'win32':
      return vars.APPDATA ? path.join(vars.APPDATA, 'temporalio', 'temporal.toml') : undefined;
    case 'darwin':
      return vars.HOME ? path.join(vars.HOME, 'Library', 'Application Support', 'temporalio', 'temporal.toml') : undefined;
    default: {
      const xdg = vars.XDG_CONFIG_HOME;
      if (xdg) return path.isAbsolute(xdg) ? path.join(xdg, 'temporalio', 'temporal.toml') : undefined;
      return vars.HOME ? path.join(vars.HOME, '.config', 'temporalio', 'temporal.toml') : undefined;
    }
  }
}

function loadProfile(vars: Record<string, string>, profileName: string, file: string | undefined): ClientConfigProfile {
  // A file that declares no profile (an empty one) configures nothing; envconfig 1.24 throws on it.
  const usable = file !== undefined && declaresProfiles(file);
  if (file && !usable && vars.TEMPORAL_PROFILE) {
    throw new ConnectionSettingsError(
      `TEMPORAL_PROFILE=${profileName}: ${file} declares no profile. Add [profile.${profileName}] to it, or unset TEMPORAL_PROFILE.`,
    );
  }
  try {
    return loadClientConfigProfile({
      profile: profileName,
      overrideEnvVars: vars,
      ...(usable ? { configSource: { path: file } } : { disableFile: true }),
    });
  } catch (err) {
    const message = (err as Error).message;
    if (file && /Profile '.*' not found/.test(message)) {
      const names = Object.keys(loadClientConfig({ configSource: { path: file } }).profiles);
      throw new ConnectionSettingsError(
        `${vars.TEMPORAL_PROFILE ? `TEMPORAL_PROFILE=${profileName}` : `profile '${profileName}'`}: ${file} has no [profile.${profileName}] ` +
          `(it has: ${names.join(', ') || 'none'}). Set TEMPORAL_PROFILE to one of those, or add the profile.`,
      );
    }
    throw new ConnectionSettingsError(
      `Cannot load the Temporal connection settings (${file ? `config file ${file}, ` : ''}TEMPORAL_* variables): ${message}`,
    );
  }
}

function readTls(
  profile: ClientConfigProfile,
  vars: Record<string, string>,
  field: (name: string) => string,
  apiKeySource: string | undefined,
): TlsSettings | undefined {
  const tls: ClientConfigTLS | undefined = profile.tls;
  const tlsSwitch = vars.TEMPORAL_TLS !== undefined ? 'TEMPORAL_TLS' : field('tls');
  if (tls?.disabled === true) return undefined;
  if (!tls) return apiKeySource ? { enabledBy: `${apiKeySource} (an API key implies TLS)` } : undefined;
  const sourceOf = (envBase: string, tomlBase: string, source: ConfigDataSource): string => {
    const kind = 'path' in source ? 'PATH' : 'DATA';
    const envName = `${envBase}_${kind}`;
    if (vars[envName] !== undefined) return kind === 'PATH' ? `${envName}=${vars[envName]}` : envName;
    return field(`tls.${tomlBase}_${kind.toLowerCase()}`);
  };
  const serverCa = tls.serverCACert && {
    pem: readPem(tls.serverCACert, sourceOf('TEMPORAL_TLS_SERVER_CA_CERT', 'server_ca_cert', tls.serverCACert)),
    source: sourceOf('TEMPORAL_TLS_SERVER_CA_CERT', 'server_ca_cert', tls.serverCACert),
  };
  if (serverCa) checkCertificate(serverCa.pem, serverCa.source, 'the server CA certificate');
  const certSource = tls.clientCert && sourceOf('TEMPORAL_TLS_CLIENT_CERT', 'client_cert', tls.clientCert);
  const keySource = tls.clientKey && sourceOf('TEMPORAL_TLS_CLIENT_KEY', 'client_key', tls.clientKey);
  let client: TlsSettings['client'];
  if (tls.clientCert || tls.clientKey) {
    if (!tls.clientCert || !tls.clientKey || !certSource || !keySource) {
      const given = certSource ?? keySource;
      const missing = certSource
        ? 'TEMPORAL_TLS_CLIENT_KEY_PATH (or tls.client_key_path)'
        : 'TEMPORAL_TLS_CLIENT_CERT_PATH (or tls.client_cert_path)';
      throw new ConnectionSettingsError(
        `${given} is set but its pair is not: mTLS needs both a client certificate and its key; set ${missing}.`,
      );
    }
    const cert = readPem(tls.clientCert, certSource);
    const key = readPem(tls.clientKey, keySource);
    const x509 = checkCertificate(cert, certSource, 'the client certificate');
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch (err) {
      throw new ConnectionSettingsError(
        `${keySource}: not a PEM private key (${(err as Error).message}). Point it at the client certificate's key.`,
      );
    }
    if (!x509.checkPrivateKey(privateKey)) {
      throw new ConnectionSettingsError(
        `${keySource}: this key does not belong to the client certificate (${certSource}). Use the key the certificate was issued for.`,
      );
    }
    client = { cert, certSource, key, keySource };
  }
  const serverName = tls.serverName
    ? { value: tls.serverName, source: vars.TEMPORAL_TLS_SERVER_NAME !== undefined ? 'TEMPORAL_TLS_SERVER_NAME' : field('tls.server_name') }
    : undefined;
  const enabledBy = vars.TEMPORAL_TLS !== undefined ? 'TEMPORAL_TLS' : serverCa ? serverCa.source : (certSource ?? tlsSwitch);
  return { serverCa, client, serverName, enabledBy };
}

function readPem(source: ConfigDataSource, setting: string): Buffer {
  if (!('path' in source)) return Buffer.from(source.data);
  try {
    return readFileSync(source.path);
  } catch (err) {
    throw new ConnectionSettingsError(`${setting}: cannot read it (${(err as Error).message}). Check the path.`);
  }
}

function checkCertificate(pem: Buffer, setting: string, what: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new ConnectionSettingsError(`${setting}: not a PEM certificate (${(err as Error).message}). It should hold ${what}.`);
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now || Date.parse(cert.validFrom) > now) {
    throw new ConnectionSettingsError(
      `${setting}: ${what} is valid from ${cert.validFrom} to ${cert.validTo}, not now. Renew it (or check this machine's clock).`,
    );
  }
  return cert;
}

/** The profile's TLS block with the bytes read and checked above, so envconfig reads no file twice. */
function checkedTls(original: ClientConfigTLS, tls: TlsSettings): ClientConfigTLS {
  return {
    ...original,
    serverCACert: tls.serverCa && { data: tls.serverCa.pem },
    clientCert: tls.client && { data: tls.client.cert },
    clientKey: tls.client && { data: tls.client.key },
  };
}

function definedVars(env: Env): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) vars[name] = value;
  return vars;
}

function stringMetadata(metadata: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)]));
}

function declaresProfiles(file: string): boolean {
  return /^\s*\[\s*profile\./m.test(readFileSync(file, 'utf8'));
}
