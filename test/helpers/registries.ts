/**
 * Chart registries as teams keep them, on loopback: a real OCI registry (CNCF Distribution) anonymous, behind
 * basic auth over plain HTTP, or over TLS with a private CA (and optionally client certificates), and a
 * classic Helm repository behind basic auth. Charts are published as a person publishes them: `helm push`
 * after `helm registry login`, or `helm package` and `helm repo index` into the repository's folder.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianTool } from '../../src/tools/debian.js';
import { freePort } from '../../src/tools/dev-server.js';
import { ensureTool } from '../../src/tools/toolchain.js';

const exec = promisify(execFile);

export interface Login {
  username: string;
  password: string;
}

import type { PrivateCa } from '../../src/tools/certificates.js';

export { privateCa, type PrivateCa } from '../../src/tools/certificates.js';

export interface Registry {
  /** host:port, as oci:// references name it. */
  host: string;
  stop(): Promise<void>;
}

/** A CNCF Distribution registry on loopback: plain HTTP or TLS, anonymous or behind htpasswd. */
export async function startRegistry(
  opts: { login?: Login; tls?: PrivateCa; clientCerts?: boolean } = {},
): Promise<Registry> {
  const binary = await ensureTool('registry');
  const dir = mkdtempSync(join(tmpdir(), 'registry-'));
  const port = await freePort();
  const config: string[] = [
    'version: 0.1',
    'log: { level: error, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: test-only',
    '  debug: { addr: "" }',
  ];
  if (opts.tls) {
    config.push(`  tls: { certificate: ${opts.tls.serverCert}, key: ${opts.tls.serverKey}`);
    config.push(opts.clientCerts ? `    , clientcas: [${opts.tls.caFile}] }` : '  }');
  }
  if (opts.login) {
    const htpasswd = await ensureDebianTool('htpasswd');
    const { stdout } = await exec(htpasswd, ['-Bbn', opts.login.username, opts.login.password]);
    writeFileSync(join(dir, 'htpasswd'), stdout);
    config.push(`auth: { htpasswd: { realm: test, path: ${join(dir, 'htpasswd')} } }`);
  }
  writeFileSync(join(dir, 'config.yml'), `${config.join('\n')}\n`);
  const child: ChildProcess = spawn(binary, ['serve', join(dir, 'config.yml')], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  // Up when it answers TCP on its port (TLS and auth make a plain HTTP probe fail in other ways).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Pushes a packaged chart to `oci://HOST/charts` as a person does: `helm registry login` into a config of
 * its own (never the worker's), then `helm push`.
 */
export async function pushChart(
  tgz: string,
  registry: Registry,
  opts: { login?: Login; tls?: PrivateCa; clientCerts?: boolean } = {},
): Promise<void> {
  const helm = await ensureTool('helm');
  const config = join(mkdtempSync(join(tmpdir(), 'pusher-')), 'config.json');
  const transport = opts.tls
    ? [
        '--ca-file',
        opts.tls.caFile,
        ...(opts.clientCerts ? ['--cert-file', opts.tls.clientCert, '--key-file', opts.tls.clientKey] : []),
      ]
    : ['--plain-http'];
  if (opts.login) {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        helm,
        [
          'registry',
          'login',
          registry.host,
          '--username',
          opts.login!.username,
          '--password-stdin',
          '--registry-config',
          config,
          ...transport,
        ],
        (err) => (err ? reject(new Error(`helm registry login failed: ${err.message}`)) : resolve()),
      );
      child.stdin?.end(opts.login!.password);
    });
  }
  await exec(helm, ['push', tgz, `oci://${registry.host}/charts`, '--registry-config', config, ...transport]);
}

export interface ChartRepository {
  url: string;
  /** The folder it serves: package charts into it, then `index()`. */
  dir: string;
  /** Every request's path and whether it carried the right credentials. */
  requests: { path: string; authorized: boolean }[];
  index(): Promise<void>;
  stop(): Promise<void>;
}

/** A classic Helm repository, behind basic auth with `login`: a folder of chart archives and its index.yaml. */
export async function startChartRepository(login?: Login): Promise<ChartRepository> {
  const helm = await ensureTool('helm');
  const dir = mkdtempSync(join(tmpdir(), 'chart-repo-'));
  const expected = login && `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
  const requests: ChartRepository['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const authorized = expected === undefined || req.headers.authorization === expected;
    requests.push({ path, authorized });
    if (!authorized) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="charts"' }).end('unauthorized');
      return;
    }
    const file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file) || path === '/') {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    dir,
    requests,
    index: async () => {
      await exec(helm, ['repo', 'index', dir, '--url', url]);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
