/**
 * A private CA for servers the tests and the lab run on loopback (a chart registry, a production Temporal):
 * made with Debian's openssl, valid two days, never trusted by anything but the test that made it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianTool } from './debian.js';

const exec = promisify(execFile);

/** A CA, a server certificate it signed for loopback, and a client certificate it signed, as files. */
export interface PrivateCa {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Makes the CA and certificates in `dir` (a new temporary folder by default). The server's is for
 * `localhost` and 127.0.0.1, and good as a client's too (a server's own services talk mTLS to each other).
 */
export async function privateCa(dir = mkdtempSync(join(tmpdir(), 'ca-'))): Promise<PrivateCa> {
  const openssl = await ensureDebianTool('openssl');
  const f = (name: string) => join(dir, name);
  const run = (...args: string[]) => exec(openssl, args);
  await run(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test CA'],
    ...['-keyout', f('ca.key'), '-out', f('ca.crt')],
  );
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    await run(
      ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`],
      ...['-keyout', f(`${who}.key`), '-out', f(`${who}.csr`)],
    );
    await run(
      ...['x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial'],
      ...['-days', '2', '-extfile', f(`${who}.ext`), '-out', f(`${who}.crt`)],
    );
  }
  return {
    caFile: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
  };
}
