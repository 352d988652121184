/**
 * What the CLI and the worker say when they cannot reach Temporal over TLS, against real TLS servers on
 * loopback with a private CA: each setting a person got wrong is named.
 */
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseConnection } from '../../src/common/tls-diagnosis.js';
import { freePort } from '../../src/tools/dev-server.js';
import { privateCa, type PrivateCa } from '../helpers/registries.js';

let ca: PrivateCa;
let mtls: TlsServer;
let plain: Server;
const open: TLSSocket[] = [];
const ports = { mtls: 0, plain: 0, closed: 0 };

const listen = (s: Server, port: number) => new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));

beforeAll(async () => {
  ca = await privateCa();
  ports.mtls = await freePort();
  ports.plain = await freePort();
  ports.closed = await freePort();
  mtls = createServer(
    {
      cert: readFileSync(ca.serverCert),
      key: readFileSync(ca.serverKey),
      ca: readFileSync(ca.caFile),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    // Keeps an accepted client connected, as a gRPC server does; Node's server hangs up on a refused one.
    (s) => {
      s.on('error', () => undefined);
      open.push(s);
    },
  );
  // Refused handshakes are what these tests make: the server has nothing to say of them.
  mtls.on('tlsClientError', () => undefined);
  plain = createTcpServer((s) => {
    s.on('error', () => undefined);
    s.end('HTTP/2 is not TLS\n');
  });
  await listen(mtls, ports.mtls);
  await listen(plain, ports.plain);
});

afterAll(() => {
  mtls?.close();
  for (const s of open) s.destroy();
  plain?.close();
});

const file = (f: string) => readFileSync(f);

describe('why Temporal cannot be reached', () => {
  it('names the missing client certificate, an untrusted server, a client certificate from another CA', async () => {
    const address = `127.0.0.1:${ports.mtls}`;
    expect(await diagnoseConnection({ address, tls: { serverRootCACertificate: file(ca.caFile) } })).toBe(
      'the server requires a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY',
    );
    expect(await diagnoseConnection({ address, tls: {} })).toMatch(
      /^the server's certificate is not trusted \(\w+\): set TEMPORAL_TLS_CA to the CA that signed it$/,
    );
    const other = await privateCa();
    expect(
      await diagnoseConnection({
        address,
        tls: {
          serverRootCACertificate: file(ca.caFile),
          clientCertPair: { crt: file(other.clientCert), key: file(other.clientKey) },
        },
      }),
    ).toMatch(/refused the client certificate|did not take the client certificate/);
    expect(await diagnoseConnection({ address })).toMatch(/^the server speaks TLS: set TEMPORAL_TLS=true/);
  });

  it('says nothing when the handshake goes through, and names a closed port or a server without TLS', async () => {
    const good = {
      serverRootCACertificate: file(ca.caFile),
      clientCertPair: { crt: file(ca.clientCert), key: file(ca.clientKey) },
    };
    expect(await diagnoseConnection({ address: `127.0.0.1:${ports.mtls}`, tls: good })).toBeUndefined();
    expect(await diagnoseConnection({ address: `127.0.0.1:${ports.closed}` })).toBe(
      'nothing listens on that address (connection refused)',
    );
    expect(await diagnoseConnection({ address: `127.0.0.1:${ports.plain}`, tls: good })).toMatch(
      /^the server does not speak TLS/,
    );
  });
});
