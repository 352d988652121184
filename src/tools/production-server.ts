/**
 * A production Temporal for the tests and the lab: the server built from Go modules (not the dev server),
 * on a private PostgreSQL cluster from Debian's packages, its frontend and internode traffic on TLS with
 * client certificates required (mTLS) from a private CA made for it. Everything listens on loopback only.
 * Like a freshly installed server it has no search attributes: `rollout setup` registers them. Runs as
 * root (PostgreSQL's tools run as its `postgres` user).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { privateCa } from './certificates.js';
import { installDebianPackage } from './debian.js';
import { freePort } from './dev-server.js';
import { ensureTool } from './toolchain.js';

const exec = promisify(execFile);

export interface ProductionServer {
  /** The frontend, HOST:PORT. */
  address: string;
  namespace: string;
  /** The TEMPORAL_* settings a worker and the CLI connect with (file paths, no secret in a value). */
  env: Record<string, string>;
  /** The CA and a client certificate and key, as files. */
  tls: { ca: string; cert: string; key: string; serverName: string };
  /** Restarts the database (the server reconnects). */
  restartDatabase: () => Promise<void>;
  stop: () => Promise<void>;
}

/** PostgreSQL's server binaries (initdb, pg_ctl) from Debian's `postgresql`, installing it when missing. */
export async function postgresBin(log: (l: string) => void): Promise<string> {
  const find = () =>
    existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
          .find((d) => existsSync(join(d, 'pg_ctl')))
      : undefined;
  const found = find();
  if (found) return found;
  await installDebianPackage('postgresql', log);
  const installed = find();
  if (!installed) throw new Error('postgresql is installed but no pg_ctl is under /usr/lib/postgresql');
  return installed;
}

function serverConfig(o: {
  dbPort: number;
  ports: Record<'frontend' | 'history' | 'matching' | 'worker', number>;
  membership: Record<'frontend' | 'history' | 'matching' | 'worker', number>;
  ca: string;
  server: [string, string];
  dynamicConfig: string;
}): string {
  const store = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "127.0.0.1:${o.dbPort}"
        connectProtocol: tcp
        user: postgres
        password: ""
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const service = (name: keyof typeof o.ports) => `
  ${name}:
    rpc:
      grpcPort: ${o.ports[name]}
      membershipPort: ${o.membership[name]}
      bindOnLocalHost: true`;
  const serverTls = `
        certFile: ${o.server[0]}
        keyFile: ${o.server[1]}
        requireClientAuth: true
        clientCaFiles: [${o.ca}]`;
  const clientTls = `
        serverName: localhost
        rootCaFiles: [${o.ca}]`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  tls:
    internode:
      server:${serverTls}
      client:${clientTls}
    frontend:
      server:${serverTls}
      client:${clientTls}
    systemWorker:
      certFile: ${o.server[0]}
      keyFile: ${o.server[1]}
      client:${clientTls}
services:${service('frontend')}${service('history')}${service('matching')}${service('worker')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: localhost:${o.ports.frontend}
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${o.dynamicConfig}
  pollInterval: 10s
`;
}

/**
 * Starts PostgreSQL and the server, creates the schemas and `namespace` (retention one day), and returns
 * once a client with the client certificate can reach the namespace.
 */
export async function startProductionServer(
  opts: { namespace?: string; log?: (l: string) => void } = {},
): Promise<ProductionServer> {
  const log = opts.log ?? console.error;
  const namespace = opts.namespace ?? 'default';
  const [pg, server, sqlTool] = [
    await postgresBin(log),
    await ensureTool('temporal-server', log),
    await ensureTool('temporal-sql-tool', log),
  ];
  const schema = join(dirname(dirname(server)), 'schema/postgresql/v12');
  const dir = await mkdtemp(join(tmpdir(), 'temporal-production-'));
  await chmod(dir, 0o755);
  const children: ChildProcess[] = [];

  // PostgreSQL: a private cluster owned by its user, on loopback and a socket in the folder.
  const data = join(dir, 'pg');
  await mkdir(data, { mode: 0o700 });
  await chown(data, ...(await postgresIds()));
  const dbPort = await freePort();
  const asPostgres = (cmd: string, args: string[]) => exec('runuser', ['-u', 'postgres', '--', join(pg, cmd), ...args]);
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pgCtl = (action: 'start' | 'stop' | 'restart') =>
    asPostgres('pg_ctl', [
      '-D',
      data,
      '-w',
      '-l',
      join(data, 'server.log'),
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${dbPort} -k ${data} -c fsync=off`,
      ...(action === 'stop' ? ['-m', 'fast'] : []),
      action,
    ]);
  await pgCtl('start');

  const stop = async () => {
    for (const c of children) {
      if (c.exitCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (c.exitCode === null) c.kill('SIGKILL');
      }
    }
    await pgCtl('stop').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const sqlEnv = {
      ...process.env,
      SQL_PLUGIN: 'postgres12',
      SQL_HOST: '127.0.0.1',
      SQL_PORT: String(dbPort),
      SQL_USER: 'postgres',
      SQL_PASSWORD: '',
    };
    for (const [db, versioned] of [
      ['temporal', 'temporal'],
      ['temporal_visibility', 'visibility'],
    ] as const) {
      const sql = (...args: string[]) => exec(sqlTool, ['--db', db, ...args], { env: sqlEnv });
      await sql('create-database');
      await sql('setup-schema', '-v', '0.0');
      await sql('update-schema', '-d', join(schema, versioned, 'versioned'));
    }

    const certs = await privateCa(dir);
    const names = ['frontend', 'history', 'matching', 'worker'] as const;
    const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()]))) as Record<
      (typeof names)[number],
      number
    >;
    // The membership table keeps ports as a smallint: below 32768, where the kernel never picks one.
    const membership = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, await lowFreePort()])),
    ) as Record<(typeof names)[number], number>;
    const dynamicConfig = join(dir, 'dynamicconfig.yaml');
    // As the dev server runs (src/tools/dev-server.ts): eager activities on.
    await writeFile(dynamicConfig, 'system.enableActivityEagerExecution:\n  - value: true\n');
    await mkdir(join(dir, 'config'));
    await writeFile(
      join(dir, 'config/production.yaml'),
      serverConfig({
        dbPort,
        ports,
        membership,
        ca: certs.caFile,
        server: [certs.serverCert, certs.serverKey],
        dynamicConfig,
      }),
    );
    const child = spawn(
      server,
      ['--root', dir, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Its log (stdout) and stderr, the latest part: why it stopped, if it does.
    let stderr = '';
    const keep = (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.push(child);

    const address = `127.0.0.1:${ports.frontend}`;
    const tls = { ca: certs.caFile, cert: certs.clientCert, key: certs.clientKey, serverName: 'localhost' };
    const connection = await connectWhenUp(address, tls, () => (child.exitCode !== null ? stderr : undefined));
    try {
      // With Temporal's own CLI, as an operator would.
      const temporal = await ensureTool('temporal', log);
      await exec(temporal, [
        ...['operator', 'namespace', 'create', '--namespace', namespace, '--retention', '1d'],
        ...['--address', address, '--tls-ca-path', tls.ca, '--tls-cert-path', tls.cert, '--tls-key-path', tls.key],
        ...['--tls-server-name', tls.serverName],
      ]).catch((err: { stderr?: string }) => {
        if (!/already exists/i.test(err.stderr ?? '')) throw err;
      });
      // The frontend learns of a new namespace from its cache, refreshed every few seconds.
      for (let i = 0; ; i++) {
        try {
          await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
          break;
        } catch (err) {
          if (i > 60) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    } finally {
      await connection.close();
    }
    return {
      address,
      namespace,
      tls,
      env: {
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TLS_CA: tls.ca,
        TEMPORAL_TLS_CERT: tls.cert,
        TEMPORAL_TLS_KEY: tls.key,
        TEMPORAL_TLS_SERVER_NAME: tls.serverName,
      },
      restartDatabase: async () => {
        await pgCtl('restart');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A free loopback port below 32768, tried at random in 20000-32767. */
async function lowFreePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768 on loopback');
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout } = await exec('id', ['postgres']);
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1]);
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1]);
  return [uid, gid];
}

async function connectWhenUp(
  address: string,
  tls: { ca: string; cert: string; key: string; serverName: string },
  exited: () => string | undefined,
): Promise<Connection> {
  const options = {
    address,
    tls: {
      serverNameOverride: tls.serverName,
      serverRootCACertificate: await readFile(tls.ca),
      clientCertPair: { crt: await readFile(tls.cert), key: await readFile(tls.key) },
    },
    connectTimeout: 2_000,
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    const died = exited();
    if (died !== undefined) throw new Error(`the Temporal server exited:\n${died}`);
    try {
      const c = await Connection.connect(options);
      await c.workflowService.getSystemInfo({});
      return c;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`the Temporal server did not answer on ${address}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
