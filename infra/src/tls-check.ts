import { connect } from 'node:http2';
import { isIP } from 'node:net';
import { ConnectionSettingsError, type ConnectionSettings } from './connection-settings';

// Server-side certificate verification failures (OpenSSL's codes, as Node reports them).
const UNTRUSTED_SERVER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);
// Alerts a server sends when it wants a client certificate it did not get, or refuses the one it got.
const CLIENT_CERT_REFUSED = /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE|ACCESS_DENIED/;
// Nothing to shake hands with: a server down is not a wrong setting (a plain Error, not a ConnectionSettingsError).
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ETIMEDOUT']);
// What a TLS client reads when the other end speaks plaintext.
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE|UNKNOWN_PROTOCOL/;

/**
 * One TLS handshake plus HTTP/2 start with the settings' CA, client certificate and server name,
 * before the SDK connects: the SDK's client retries a refused handshake until its connect timeout
 * (10 s) and then reports only "Failed to connect before the deadline"; Node's TLS stack says in
 * milliseconds what failed, which this turns into the setting to fix. Resolves when the server's
 * HTTP/2 settings arrive (with TLS 1.3 a refused client certificate shows only then). Rejects with
 * a ConnectionSettingsError naming the setting to fix, or a plain Error when nothing answers.
 */
export async function checkTlsEndpoint(settings: ConnectionSettings, address: string, timeoutMs = 5_000): Promise<void> {
  const tls = settings.tls;
  if (!tls) return;
  const host = hostOf(address);
  const servername = tls.serverName?.value ?? (isIP(host) ? undefined : host);
  await new Promise<void>((done, fail) => {
    const session = connect(`https://${address}`, {
      ca: tls.serverCa?.pem,
      cert: tls.client?.cert,
      key: tls.client?.key,
      // Node checks the certificate against `servername` when given, else against the host.
      ...(servername ? { servername } : {}),
    });
    let settled = false;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (err) fail(err);
      else done();
    };
    const timer = setTimeout(
      () =>
        settle(
          new Error(
            `No TLS handshake with ${address} within ${timeoutMs / 1000} s: check the address (${settings.addressSource ?? 'TEMPORAL_ADDRESS'}) ` +
              `and that a TLS endpoint listens there.`,
          ),
        ),
      timeoutMs,
    );
    session.once('remoteSettings', () => settle());
    // With TLS 1.3 the client's handshake ends before the server has checked its certificate, so a
    // server that wants one (or refuses it) may end the connection after 'connect' with an alert,
    // a reset or a bare close, whichever the socket reports first: all three mean the certificate.
    let handshakeDone = false;
    session.once('connect', () => (handshakeDone = true));
    const endedAfterHandshake = (detail: string): ConnectionSettingsError =>
      new ConnectionSettingsError(
        tls.client
          ? `${address} ended the connection right after the TLS handshake (${detail}): the server refused the client certificate (${tls.client.certSource}). Use one issued by a CA the server trusts for clients.`
          : `${address} ended the connection right after the TLS handshake (${detail}): the server requires a client certificate (mTLS). ` +
              `Set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or tls.client_cert_path and tls.client_key_path in the profile).`,
      );
    const refused = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? '';
      if (handshakeDone && !CLIENT_CERT_REFUSED.test(code) && (code === 'ECONNRESET' || code.startsWith('ERR_HTTP2')))
        return settle(endedAfterHandshake(code));
      const message = explainTlsError(err, settings, address);
      settle(UNREACHABLE.has(code) ? new Error(message) : new ConnectionSettingsError(message));
    };
    session.once('error', refused);
    // A TLS 1.3 alert after the handshake (no client certificate) reaches the socket, not the session.
    session.socket.once('error', refused);
    session.once('close', () =>
      settle(
        handshakeDone
          ? endedAfterHandshake('closed')
          : new ConnectionSettingsError(
              `${address} closed the connection during the TLS check: check the TLS settings (${tls.enabledBy}).`,
            ),
      ),
    );
  });
}

/** What a TLS error means in terms of the settings: which one to check, and how. */
export function explainTlsError(err: NodeJS.ErrnoException, settings: ConnectionSettings, address: string): string {
  const tls = settings.tls;
  const code = err.code ?? '';
  // OpenSSL's messages run over lines with source paths; its `reason` is the readable part.
  const reason = (err as { reason?: unknown }).reason;
  const detail = typeof reason === 'string' && reason ? reason : err.message.trim().split('\n')[0];
  const head = `TLS to ${address} failed (${code || 'error'}: ${detail})`;
  if (UNTRUSTED_SERVER.has(code)) {
    return tls?.serverCa
      ? `${head}: the server's certificate is not signed by the CA in ${tls.serverCa.source}. Point that setting at the CA that issued the server's certificate.`
      : `${head}: the server's certificate is not signed by a CA this machine trusts. Set TEMPORAL_TLS_SERVER_CA_CERT_PATH (or tls.server_ca_cert_path) to its CA.`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `${head}: the server's certificate is outside its validity dates. Renew it on the server (or check this machine's clock).`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const name = tls?.serverName ? `the name in ${tls.serverName.source}` : `the host of ${settings.addressSource ?? 'TEMPORAL_ADDRESS'}`;
    return `${head}: the server's certificate is not issued for ${name}. Set TEMPORAL_TLS_SERVER_NAME (or tls.server_name) to a name the certificate holds.`;
  }
  if (CLIENT_CERT_REFUSED.test(code)) {
    return tls?.client
      ? `${head}: the server refused the client certificate (${tls.client.certSource}). Use one issued by a CA the server trusts for clients.`
      : `${head}: the server requires a client certificate (mTLS). Set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH ` +
          `(or tls.client_cert_path and tls.client_key_path in the profile).`;
  }
  if (NOT_TLS.test(code) || code === 'ECONNRESET') {
    return `${head}: the server does not seem to speak TLS (TLS is on through ${tls?.enabledBy ?? 'the settings'}). Check the port, or turn TLS off (TEMPORAL_TLS=false, or tls.disabled = true).`;
  }
  if (UNREACHABLE.has(code)) {
    return `${head}: nothing answers there. Check ${settings.addressSource ?? 'TEMPORAL_ADDRESS'}.`;
  }
  return `${head}. Check the TLS settings (${tls?.enabledBy ?? 'TEMPORAL_TLS*'}).`;
}

/**
 * What a refused RPC means in terms of the settings (the server checks API keys and client
 * certificates per call, after the handshake): the gRPC codes UNAUTHENTICATED and PERMISSION_DENIED.
 */
export function explainRpcError(err: unknown, settings: ConnectionSettings): string | undefined {
  const code = (err as { code?: unknown }).code;
  const namespace = settings.namespace ?? 'default';
  if (code === 16) {
    return settings.apiKey
      ? `the server refused the API key from ${settings.apiKey.source}: check that it is valid and not expired.`
      : `the server wants credentials: set TEMPORAL_API_KEY (or api_key in the profile), or a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH).`;
  }
  if (code === 7) {
    return `the server refused access to namespace '${namespace}' with these credentials${settings.apiKey ? ` (API key from ${settings.apiKey.source})` : ''}: check TEMPORAL_NAMESPACE (or the profile's namespace) and the key's or certificate's permissions.`;
  }
  return undefined;
}

/** `host` of `host:port` (`[v6]:port` too). */
function hostOf(address: string): string {
  const at = address.lastIndexOf(':');
  return (at < 0 ? address : address.slice(0, at)).replace(/^\[|\]$/g, '');
}
