/**
 * Why a connection to Temporal failed, in the terms of the settings a person can change. The SDK reports
 * a refused TLS handshake as "Failed to connect before the deadline"; one handshake of our own, with the
 * same settings, tells a missing client certificate from an untrusted server or a server that does not
 * speak TLS at all.
 */
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { connect as netConnect } from 'node:net';
import type { TemporalConfig } from './temporal-config.js';

/** One sentence naming what to set, or undefined when a handshake with these settings goes through. */
export async function diagnoseConnection(config: Pick<TemporalConfig, 'address' | 'tls'>): Promise<string | undefined> {
  const [host, portText] = splitAddress(config.address);
  const port = Number(portText);
  if (!host || !Number.isInteger(port)) return undefined;
  const tcp = await new Promise<string | undefined>((resolve) => {
    const s = netConnect({ host, port, timeout: 3_000 });
    s.once('connect', () => (s.destroy(), resolve(undefined)));
    s.once('timeout', () => (s.destroy(), resolve('nothing answered on that address within 3 s')));
    s.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'ECONNREFUSED' ? 'nothing listens on that address (connection refused)' : e.message),
    );
  });
  if (tcp) return tcp;
  const tls = config.tls;
  const outcome = await handshake({
    host,
    port,
    servername: tls?.serverNameOverride ?? (/^[\d.]+$/.test(host) ? undefined : host),
    ca: tls?.serverRootCACertificate,
    cert: tls?.clientCertPair?.crt,
    key: tls?.clientCertPair?.key,
    ALPNProtocols: ['h2'],
    rejectUnauthorized: true,
  });
  if (!tls) {
    return outcome.code === 'NOT_TLS' || outcome.code === undefined
      ? undefined
      : 'the server speaks TLS: set TEMPORAL_TLS=true, TEMPORAL_TLS_CA to its CA, and TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY when it asks for a client certificate';
  }
  switch (outcome.code) {
    case undefined:
      return undefined;
    case 'NOT_TLS':
      return 'the server does not speak TLS: unset TEMPORAL_TLS, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY';
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      return tls.clientCertPair
        ? 'the server asks for a client certificate and did not take this one'
        : 'the server requires a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY';
    case 'CLOSED':
      return tls.clientCertPair
        ? 'the server hung up right after the TLS handshake: it did not take the client certificate (TEMPORAL_TLS_CERT), or it is not a Temporal frontend'
        : 'the server hung up right after the TLS handshake: it may require a client certificate (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY)';
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return 'the server refused the client certificate (TEMPORAL_TLS_CERT): it is not signed by a CA the server trusts';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the server's certificate is not for that name (${outcome.message}): set TEMPORAL_TLS_SERVER_NAME to a name it is for`;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `the server's certificate is not trusted (${outcome.code}): set TEMPORAL_TLS_CA to the CA that signed it`;
    default:
      return `the TLS handshake failed: ${outcome.message}`;
  }
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), address.slice(i + 1)];
}

/** A TLS handshake; in TLS 1.3 the server's refusal of a client comes just after it, so wait a moment for it. */
function handshake(options: ConnectionOptions): Promise<{ code?: string; message?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ ...options, timeout: 3_000 });
    let settled = false;
    const done = (r: { code?: string; message?: string }) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(r);
    };
    socket.once('secureConnect', () => {
      // Read, and send HTTP/2's preface as gRPC would: a refusal after the handshake arrives as an error.
      socket.resume();
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      setTimeout(() => done({}), 300);
    });
    // A server that refuses the client certificate may just hang up right after the handshake.
    socket.once('end', () => done({ code: 'CLOSED', message: 'the server closed the connection' }));
    socket.once('timeout', () => done({ code: 'TIMEOUT', message: 'no TLS answer within 3 s' }));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      const notTls = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNEXPECTED_EOF|ECONNRESET/.test(code + e.message);
      done({ code: notTls ? 'NOT_TLS' : code, message: e.message });
    });
  });
}
