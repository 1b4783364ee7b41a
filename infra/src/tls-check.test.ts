import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConnectionSettings } from './connection-settings';
import { checkTlsEndpoint } from './tls-check';
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from './testing/tls';

// A plaintext HTTP/2 server stands in for the dev server's gRPC port: the check needs only its SETTINGS frame.
let dir: string;
let pki: TestPki;
let h2: Http2Server;
let plainAddress: string;
let serverAuth: TlsProxy;
let mutual: TlsProxy;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retain-tls-check-'));
  pki = await makeTestPki(dir);
  h2 = createServer();
  await new Promise<void>((listening) => h2.listen(0, '127.0.0.1', listening));
  plainAddress = `127.0.0.1:${(h2.address() as AddressInfo).port}`;
  const pem = (file: string) => readFileSync(file, 'utf8');
  serverAuth = await startTlsProxy({ target: plainAddress, cert: pem(pki.serverCert), key: pem(pki.serverKey) });
  mutual = await startTlsProxy({ target: plainAddress, cert: pem(pki.serverCert), key: pem(pki.serverKey), clientCa: pem(pki.caCert) });
});
afterAll(async () => {
  await serverAuth.close();
  await mutual.close();
  await new Promise((closed) => h2.close(closed));
  rmSync(dir, { recursive: true, force: true });
});

const check = (address: string, env: Record<string, string>) =>
  checkTlsEndpoint(loadConnectionSettings({ HOME: dir, TEMPORAL_ADDRESS: address, ...env }), address);

test('the right CA passes (server auth), and with a client certificate passes mTLS', async () => {
  await expect(check(serverAuth.address, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert })).resolves.toBeUndefined();
  const client = { TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey };
  await expect(check(mutual.address, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, ...client })).resolves.toBeUndefined();
});

test('a wrong CA, a missing client certificate and a plaintext port each fail fast, naming what to set', async () => {
  await expect(check(serverAuth.address, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.wrongCaCert })).rejects.toThrow(
    /not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*wrong-ca\.pem/,
  );
  await expect(check(mutual.address, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert })).rejects.toThrow(
    /the server requires a client certificate \(mTLS\)\. Set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
  );
  await expect(check(plainAddress, { TEMPORAL_TLS: 'true' })).rejects.toThrow(
    /does not seem to speak TLS \(TLS is on through TEMPORAL_TLS\)/,
  );
  await expect(
    check(serverAuth.address, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, TEMPORAL_TLS_SERVER_NAME: 'elsewhere.example' }),
  ).rejects.toThrow(/not issued for the name in TEMPORAL_TLS_SERVER_NAME/);
});
