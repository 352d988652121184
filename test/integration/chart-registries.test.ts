/**
 * Charts from private registries, pulled with real Helm from a real OCI registry (CNCF Distribution) and a
 * classic repository behind basic auth, with what the worker declares in its ROLLOUT_CREDENTIALS file. The
 * Helm the worker runs is a wrapper that records its command lines, so a test can show no password is on one.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Credentials } from '../../src/adapters/credentials.js';
import { HelmClient } from '../../src/adapters/helm.js';
import { ensureTool } from '../../src/tools/toolchain.js';
import {
  privateCa,
  pushChart,
  startChartRepository,
  startRegistry,
  type ChartRepository,
  type Login,
  type PrivateCa,
  type Registry,
} from '../helpers/registries.js';

const exec = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

const login: Login = { username: 'robot', password: `pw-${Math.random().toString(36).slice(2)}` };
let ca: PrivateCa;
let anonymous: Registry;
let plain: Registry;
let tls: Registry;
let classic: ChartRepository;
let helm: string;
/** The wrapper the worker's HelmClient runs, and the file it appends each command line to. */
let recordingHelm: string;
let commandLines: string;
let credentialsYaml: string;
let passwordFile: string;

/** Packages the lab's express chart at `version` into a folder; returns the archive. */
async function packageChart(version: string, dir = mkdtempSync(join(tmpdir(), 'pkg-'))): Promise<string> {
  await exec(helm, ['package', join(root, 'charts/express'), '--version', version, '-d', dir]);
  return join(dir, `express-${version}.tgz`);
}

/** Publishes a version everywhere, as a team's release pipeline would. */
async function publish(version: string): Promise<void> {
  const tgz = await packageChart(version);
  await pushChart(tgz, anonymous);
  await pushChart(tgz, plain, { login });
  await pushChart(tgz, tls, { login, tls: ca, clientCerts: true });
  await packageChart(version, classic.dir);
  await classic.index();
}

function worker(yaml = credentialsYaml, env: NodeJS.ProcessEnv = { PLAIN_REGISTRY_PASSWORD: login.password }) {
  return new HelmClient(recordingHelm, undefined, undefined, Credentials.parse(yaml, 'credentials.yaml', env));
}

async function pulled(client: HelmClient, chart: string, version: string, repository?: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pulled-'));
  await client.pull(chart, version, repository, dir);
  return readdirSync(dir);
}

async function refusal(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

beforeAll(async () => {
  helm = await ensureTool('helm');
  ca = await privateCa();
  [anonymous, plain, tls, classic] = await Promise.all([
    startRegistry(),
    startRegistry({ login }),
    startRegistry({ login, tls: ca, clientCerts: true }),
    startChartRepository(login),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'worker-'));
  commandLines = join(dir, 'helm-commands.log');
  recordingHelm = join(dir, 'helm');
  writeFileSync(recordingHelm, `#!/bin/sh\necho "$*" >> '${commandLines}'\nexec '${helm}' "$@"\n`);
  chmodSync(recordingHelm, 0o755);
  passwordFile = join(dir, 'tls-registry-password');
  writeFileSync(passwordFile, `${login.password}\n`, { mode: 0o600 });
  credentialsYaml = [
    'chartRepositories:',
    `  - { name: plain-registry, url: "oci://${plain.host}/charts", username: robot, passwordEnv: PLAIN_REGISTRY_PASSWORD, plainHttp: true }`,
    `  - name: tls-registry`,
    `    url: oci://${tls.host}`,
    `    username: robot`,
    `    passwordFile: ${passwordFile}`,
    `    caFile: ${ca.caFile}`,
    `    certFile: ${ca.clientCert}`,
    `    keyFile: ${ca.clientKey}`,
    `  - { name: classic-repo, url: "${classic.url}/", username: robot, passwordFile: ${passwordFile} }`,
    '',
  ].join('\n');
  await publish('3.0.0');
}, 300_000);

afterAll(async () => {
  await Promise.all([anonymous?.stop(), plain?.stop(), tls?.stop(), classic?.stop()]);
});

describe('charts from private registries, as the worker reaches them', { timeout: 120_000 }, () => {
  it('pulls from an anonymous registry, one behind basic auth over plain HTTP, one over TLS with a private CA and client certificates, and a classic repository behind basic auth', async () => {
    const client = worker();
    expect(await pulled(client, `oci://${anonymous.host}/charts/express`, '3.0.0')).toEqual(['express-3.0.0.tgz']);
    expect(await pulled(client, `oci://${plain.host}/charts/express`, '3.0.0')).toEqual(['express-3.0.0.tgz']);
    expect(await pulled(client, `oci://${tls.host}/charts/express`, '3.0.0')).toEqual(['express-3.0.0.tgz']);
    expect(await pulled(client, 'express', '3.0.0', classic.url)).toEqual(['express-3.0.0.tgz']);
    // The classic repository was asked for its index and the archive, each with the credentials.
    expect(classic.requests.filter((r) => r.authorized).map((r) => r.path)).toEqual(
      expect.arrayContaining(['/index.yaml', '/express-3.0.0.tgz']),
    );
  });

  it('a version published after the worker last pulled is found with no step on the worker (no repo update)', async () => {
    const client = worker();
    await pulled(client, 'express', '3.0.0', classic.url);
    await publish('3.1.0');
    expect(await pulled(client, 'express', '3.1.0', classic.url)).toEqual(['express-3.1.0.tgz']);
    expect(await pulled(client, `oci://${tls.host}/charts/express`, '3.1.0')).toEqual(['express-3.1.0.tgz']);
  });

  it("never puts a password on Helm's command line, and leaves no file of its own behind", async () => {
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('rollout-helm-')));
    await pulled(worker(), `oci://${plain.host}/charts/express`, '3.0.0');
    await pulled(worker(), 'express', '3.0.0', classic.url);
    const lines = readFileSync(commandLines, 'utf8');
    expect(lines).toContain('--registry-config');
    expect(lines).toContain('--repository-config');
    expect(lines).not.toContain(login.password);
    const after = readdirSync(tmpdir()).filter((f) => f.startsWith('rollout-helm-') && !before.has(f));
    expect(after).toEqual([]);
  });

  it('a wrong password is final at once, naming the entry that was sent and never the password', async () => {
    const client = worker(credentialsYaml, { PLAIN_REGISTRY_PASSWORD: 'not-the-password' });
    const err = await refusal(pulled(client, `oci://${plain.host}/charts/express`, '3.0.0'));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(
      `the chart repository refused the worker (oci://${plain.host}/charts/express: the worker applied its chartRepositories entry plain-registry (ROLLOUT_CREDENTIALS (credentials.yaml))`,
    );
    expect(err.message).not.toContain('not-the-password');
  });

  it('a registry no entry applies to is refused at once, saying no credentials applied', async () => {
    const none = new HelmClient(helm, undefined, undefined, Credentials.none());
    const oci = await refusal(pulled(none, `oci://${tls.host}/charts/express`, '3.0.0'));
    // The private CA is the worker's to declare too: without it, Helm does not trust the registry.
    expect(oci.nonRetryable).toBe(true);
    expect(oci.message).toMatch(
      new RegExp(
        `^the chart repository and the worker do not agree on TLS \\(oci://${tls.host}/charts/express: no chartRepositories entry applies to it .*x509`,
      ),
    );
    // The CA alone is not enough where the registry asks for a client certificate.
    const caOnly = new HelmClient(
      helm,
      undefined,
      undefined,
      Credentials.parse(
        `chartRepositories: [{ name: ca-only, url: "oci://${tls.host}", caFile: ${ca.caFile} }]`,
        'c.yaml',
        {},
      ),
    );
    const noCert = await refusal(pulled(caOnly, `oci://${tls.host}/charts/express`, '3.0.0'));
    expect(noCert.nonRetryable).toBe(true);
    expect(noCert.message).toContain(
      `(oci://${tls.host}/charts/express: the worker applied its chartRepositories entry ca-only (ROLLOUT_CREDENTIALS (c.yaml));`,
    );
    expect(noCert.message).toContain('tls: certificate required');
    const err = await refusal(pulled(none, 'express', '3.0.0', classic.url));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(
      `the chart repository refused the worker (${classic.url}: no chartRepositories entry applies to it (no ROLLOUT_CREDENTIALS file), so the worker brought no credentials, CA or certificate of its own)`,
    );
  });

  it('a password file the worker lacks is named, not guessed around', async () => {
    const yaml = credentialsYaml.replace(passwordFile, `${passwordFile}.missing`);
    const err = await refusal(pulled(worker(yaml), `oci://${tls.host}/charts/express`, '3.0.0'));
    expect(err.message).toBe(
      `chart repository tls-registry (ROLLOUT_CREDENTIALS (credentials.yaml)): its password (file ${passwordFile}.missing) is empty or missing on this worker`,
    );
    expect(existsSync(`${passwordFile}.missing`)).toBe(false);
  });
});

describe('chartRepositories in ROLLOUT_CREDENTIALS', () => {
  const parse = (yaml: string) => () => Credentials.parse(yaml, 'c.yaml', {});
  it('refuses a bad entry naming the field', () => {
    expect(parse('chartRepositories: [{ name: a, url: "oci://r.example/x", username: u }]')).toThrow(
      'c.yaml: chartRepositories[0]: a username needs a passwordEnv or passwordFile, and a password needs a username',
    );
    expect(parse('chartRepositories: [{ name: a, url: "https://r.example/", plainHttp: true }]')).toThrow(
      'plainHttp is for oci:// registries',
    );
    expect(parse('chartRepositories: [{ name: a, url: "oci://r.example", certFile: /c }]')).toThrow(
      'a client certificate needs both certFile and keyFile',
    );
    expect(parse('chartRepositories: [{ name: a, url: "oci://u:p@r.example" }]')).toThrow(
      'chartRepositories[0].url: must not carry credentials',
    );
    expect(parse('chartRepositories: [{ name: a, url: "s3://bucket/charts" }]')).toThrow(
      'must be an oci://, http:// or https:// URL',
    );
    expect(parse('chartRepositories: [{ name: a, url: "oci://a" }, { name: a, url: "oci://b" }]')).toThrow(
      'chartRepositories[1].name: a is declared twice',
    );
  });

  it('applies the entry with the longest prefix that holds the location, and none outside every prefix', async () => {
    const c = Credentials.parse(
      [
        'chartRepositories:',
        '  - { name: whole-registry, url: "oci://r.example" }',
        '  - { name: team, url: "oci://r.example/team/charts", plainHttp: true }',
        '  - { name: classic, url: "https://charts.example/stable" }',
      ].join('\n'),
      'c.yaml',
      {},
    );
    expect((await c.chartRepository('oci://r.example/team/charts/express'))?.name).toBe('team');
    expect((await c.chartRepository('oci://r.example/team/charts-evil/express'))?.name).toBe('whole-registry');
    expect((await c.chartRepository('oci://r.example:5000/team/charts/express'))?.name).toBeUndefined();
    expect((await c.chartRepository('https://charts.example/stable'))?.name).toBe('classic');
    expect(await c.chartRepository('https://charts.example/stable-evil')).toBeUndefined();
    expect(await c.chartRepository('http://charts.example/stable')).toBeUndefined();
  });
});
