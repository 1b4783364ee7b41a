// Test support (exported as @retain/infra/testing): certificates and a TLS endpoint for the connection tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { generate } from 'selfsigned';

/** PEM files for the TLS tests, each written under `dir`; the paths are what TEMPORAL_TLS_* settings take. */
export interface TestPki {
  /** The CA that signed the server's and the client's certificates. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate signed by `caCert` (what the proxy accepts for mTLS). */
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting it must fail the handshake. */
  wrongCaCert: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Generates a CA, a server certificate for 127.0.0.1 / localhost signed by it, a client certificate
 * signed by it, and an unrelated CA. EC P-256 keys: generated in milliseconds, accepted by both
 * clients (grpc-js for the Client, rustls in the worker's NativeConnection).
 */
export async function makeTestPki(dir: string): Promise<TestPki> {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, pem: string): string => {
    const file = join(dir, name);
    writeFileSync(file, pem);
    return file;
  };
  const validity = { notBeforeDate: new Date(Date.now() - DAY_MS), notAfterDate: new Date(Date.now() + DAY_MS) };
  const caExtensions = [
    { name: 'basicConstraints' as const, cA: true, critical: true },
    { name: 'keyUsage' as const, keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
  ];
  const ca = await generate([{ name: 'commonName', value: 'retain test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: caExtensions,
    ...validity,
    // Signed by the CA's key: the client certificate of the mTLS tests.
    clientCertificate: { cn: 'retain test client', keyType: 'ec', algorithm: 'sha256', ...validity },
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const wrong = await generate([{ name: 'commonName', value: 'some other CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: caExtensions,
    ...validity,
  });
  if (!ca.clientcert || !ca.clientprivate) throw new Error('selfsigned returned no client certificate');
  return {
    caCert: write('ca.pem', ca.cert),
    serverCert: write('server.pem', server.cert),
    serverKey: write('server.key', server.private),
    clientCert: write('client.pem', ca.clientcert),
    clientKey: write('client.key', ca.clientprivate),
    wrongCaCert: write('wrong-ca.pem', wrong.cert),
  };
}

export interface TlsProxy {
  /** host:port of the TLS endpoint. */
  address: string;
  close(): Promise<void>;
}

/**
 * A TLS-terminating proxy in front of a plaintext gRPC port (the dev server has no TLS options):
 * it offers ALPN h2, as gRPC clients require, and pipes the decrypted bytes to `target`.
 * With `clientCa`, it demands a client certificate signed by that CA (mTLS).
 */
export async function startTlsProxy(opts: { target: string; cert: string; key: string; clientCa?: string }): Promise<TlsProxy> {
  const [host, port] = splitAddress(opts.target);
  const open = new Set<Socket>();
  const server: Server = createServer(
    {
      cert: opts.cert,
      key: opts.key,
      ALPNProtocols: ['h2'],
      ...(opts.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: opts.clientCa } : {}),
    },
    (socket) => {
      const upstream = connectTcp(port, host);
      open.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      socket.on('close', () => open.delete(socket));
      upstream.on('close', () => open.delete(upstream));
    },
  );
  // A refused handshake (wrong CA on the client side, no client certificate) is what the tests provoke.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((listening, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', listening);
  });
  const { port: proxyPort } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${proxyPort}`,
    close: () =>
      new Promise<void>((closed) => {
        server.close(() => closed());
        for (const socket of open) socket.destroy(); // close() waits for open connections otherwise
      }),
  };
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
