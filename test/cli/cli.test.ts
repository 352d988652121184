import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { FakeFleet } from '../helpers/fake-activities.js';
import { rolloutCli } from '../helpers/cli.js';
import { TemporalTestEnv } from '../helpers/temporal.js';
import { startCodecServer } from '../../src/client/codec-server.js';

describe('rollout validate', () => {
  it('prints the resolved order of a valid plan', async () => {
    const r = await rolloutCli(['validate', 'rollout-plans/lab.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1. canary: lab-1  [starts automatically');
    expect(r.stdout).toContain('2. wave-1: lab-2, lab-3  [approval required; maxParallel 2');
  });

  it('lists every problem with path and position, and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const bad = readFileSync('rollout-plans/lab.yaml', 'utf8')
      .replace('maxParallel: 2', 'maxParalel: 2')
      .replace('bake: 20s', 'bake: later')
      .replaceAll('../', `${process.cwd()}/`);
    writeFileSync(join(dir, 'bad.yaml'), bad);
    const r = await rolloutCli(['validate', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid rollout plan (2 problems)');
    const lineOf = (needle: string) => bad.slice(0, bad.indexOf(needle)).split('\n').length;
    expect(r.stderr).toContain(`bad.yaml:${lineOf('bake: later')}:13: spec.phases[0].bake: must be a duration`);
    expect(r.stderr).toContain(`bad.yaml:${lineOf('maxParalel')}:7: spec.phases[1].maxParalel: unknown key`);
  });

  it('checks a git-sourced plan at the commit its ref names; a missing ref or file is exit 2', async () => {
    // A config repository as a team keeps one, served from a file:// URL: the example plans, charts, overlays.
    const repo = mkdtempSync(join(tmpdir(), 'config-'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    git('init', '--quiet', '--initial-branch=main');
    for (const f of ['rollout-plans', 'charts', 'overlays']) cpSync(f, join(repo, f), { recursive: true });
    git('add', '-A');
    git('commit', '--quiet', '-m', 'config');
    const commit = git('rev-parse', 'HEAD').trim();
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const source = (ref: string) =>
      `spec:\n  source:\n    git: { url: "file://${repo}", ref: ${ref}, path: rollout-plans }\n`;
    const plan = (ref: string) => readFileSync('rollout-plans/lab.yaml', 'utf8').replace('spec:\n', source(ref));
    // The plan sits in a folder with none of its files: they are read from the repository.
    writeFileSync(join(dir, 'lab.yaml'), plan('main'));
    const ok = await rolloutCli(['validate', join(dir, 'lab.yaml')]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain(`source   file://${repo} (rollout-plans) at ${commit.slice(0, 12)} (main)`);
    // The person's own credentials file, when it is wrong, is bad input: exit 2 naming the file and field.
    const creds = join(dir, 'credentials.yaml');
    writeFileSync(creds, 'credentials: [{ name: config, url: "ssh://git.example/", tokenEnv: T }]\n');
    const badCreds = await rolloutCli(['validate', join(dir, 'lab.yaml')], { ROLLOUT_CREDENTIALS: creds });
    expect(badCreds.code).toBe(2);
    expect(badCreds.stderr).toContain(`${creds}: credentials[0].url: must be an http:// or https:// URL`);

    git('rm', '--quiet', 'overlays/lab/lab-2/values.yaml');
    git('commit', '--quiet', '-m', 'drop an overlay');
    const head = git('rev-parse', 'HEAD').trim();
    const missing = await rolloutCli(['validate', join(dir, 'lab.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `spec.clusters[1].values: file not found: ../overlays/lab/lab-2/values.yaml in file://${repo} at ${head.slice(0, 12)}`,
    );

    writeFileSync(join(dir, 'lab.yaml'), plan('release-9'));
    const badRef = await rolloutCli(['validate', join(dir, 'lab.yaml')]);
    expect(badRef.code).toBe(2);
    expect(badRef.stderr).toContain(`spec.source.git: ref release-9 does not exist in file://${repo}`);
  });

  it('names missing referenced files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    writeFileSync(join(dir, 'lab.yaml'), readFileSync('rollout-plans/lab.yaml', 'utf8'));
    const r = await rolloutCli(['validate', join(dir, 'lab.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('spec.clusters[0].values: file not found: ../overlays/lab/lab-1/values.yaml');
  });

  it('checks the files a plan refers to: values are YAML mappings, the template renders to a Job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    writeFileSync(join(dir, 'job.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "{{cluster}}" }\n');
    writeFileSync(join(dir, 'lab-2.yaml'), 'replicas: [unclosed\n');
    const plan = readFileSync('rollout-plans/lab.yaml', 'utf8')
      .replaceAll('../', `${process.cwd()}/`)
      .replace(`${process.cwd()}/charts/synchronizer-job.yaml`, join(dir, 'job.yaml'))
      .replace(`${process.cwd()}/overlays/lab/lab-2/values.yaml`, join(dir, 'lab-2.yaml'));
    writeFileSync(join(dir, 'lab.yaml'), plan);
    const r = await rolloutCli(['validate', join(dir, 'lab.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid rollout plan (2 problems)');
    expect(r.stderr).toMatch(
      /spec\.synchronizer\.template\.file: \S+job\.yaml: must be a batch\/v1 Job, not kind "ConfigMap"/,
    );
    expect(r.stderr).toMatch(/spec\.clusters\[1\]\.values: \S+lab-2\.yaml: not valid YAML/);
  });

  it('turns a YAML alias bomb into a plan error, and an empty --as into a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9)
          .fill(`*${'abcdefghi'[i - 1]}`)
          .join(',')}]`,
      );
    writeFileSync(join(dir, 'bomb.yaml'), `${levels.join('\n')}\n`);
    const bomb = await rolloutCli(['validate', join(dir, 'bomb.yaml')]);
    expect(bomb.code).toBe(2);
    expect(bomb.stderr).toContain('invalid rollout plan');
    expect(bomb.stderr).not.toContain('    at ');
    const nobody = await rolloutCli(['approve', 'any', '--phase', 'wave-1', '--as', '']);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('--as needs a name');
  });

  it('prints its version', async () => {
    const r = await rolloutCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('exits 2 on an unreadable plan and on unknown commands', async () => {
    expect((await rolloutCli(['validate', 'nope.yaml'])).code).toBe(2);
    expect((await rolloutCli(['frobnicate'])).code).toBe(2);
  });

  it('codec-server: a bad --listen is exit 2 naming it; a port in use is exit 1 saying so', async () => {
    const bad = await rolloutCli(['codec-server', '--listen', 'localhost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--listen is "localhost": give HOST:PORT');
    const taken = await startCodecServer('127.0.0.1', 0);
    try {
      const busy = await rolloutCli(['codec-server', '--listen', new URL(taken.url).host]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    } finally {
      await taken.close();
    }
  });
});

describe('rollout start, status, approve, watch, list against a real server', () => {
  let env: TemporalTestEnv;
  let fleet: FakeFleet;
  let cliEnv: Record<string, string>;
  const id = `rollout-lab-cli-${Date.now()}`;

  beforeAll(async () => {
    env = await TemporalTestEnv.create();
    fleet = new FakeFleet(['lab-1', 'lab-2', 'lab-3']);
    await env.startWorker(fleet.activities());
    cliEnv = {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      ROLLOUT_TASK_QUEUE: env.taskQueue,
      ROLLOUT_USER: 'cli-user',
    };
  });
  afterAll(async () => {
    await env?.close();
  });

  it('refuses a bad version before starting anything', async () => {
    const r = await rolloutCli(['start', 'rollout-plans/lab.yaml', '--chart-version', 'two', '--id', id], cliEnv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "option '--chart-version <version>' argument 'two' is invalid. must be a SemVer 2 version",
    );
    const list = await rolloutCli(['list', '--plan', 'lab'], cliEnv);
    expect(list.stdout).not.toContain(id);
  });

  it('runs a rollout through its approval gate', async () => {
    const started = await rolloutCli(
      ['start', 'rollout-plans/lab.yaml', '--chart-version', '2.2.0', '--id', id],
      cliEnv,
    );
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(`started ${id}: preflight passed, holding 3 cluster locks`);

    const watched = await rolloutCli(['watch', id, '--interval', '0.3'], cliEnv);
    expect(watched.code, 'watch exits 3 when the rollout waits for a person').toBe(3);
    expect(watched.stdout).toMatch(/waiting for a person: phase "wave-1" awaits approval/);

    const again = await rolloutCli(['start', 'rollout-plans/lab.yaml', '--id', `${id}-b`], cliEnv);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`lab-1 (held by ${id})`);
    // Who holds what: one row per holding rollout, or one per cluster asked about.
    const locks = await rolloutCli(['locks'], cliEnv);
    expect(locks.code).toBe(0);
    const row = locks.stdout.split('\n').find((l) => l.includes(id)) ?? '';
    expect(row.split('│').map((cell) => cell.trim())).toEqual(
      expect.arrayContaining(['running', '3: lab-1, lab-2, lab-3']),
    );
    const one = await rolloutCli(['locks', '--cluster', 'lab-2', '--cluster', 'lab-9', '-o', 'json'], cliEnv);
    expect(JSON.parse(one.stdout)).toEqual([
      expect.objectContaining({ cluster: 'lab-2', rollout: id, holderRunning: true }),
    ]);

    const refused = await rolloutCli(['approve', id, '--phase', 'canary'], cliEnv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused: phase "canary" does not require approval');

    const approved = await rolloutCli(['approve', id, '--phase', 'wave-1', '-m', 'canary looks good'], cliEnv);
    expect(approved.code).toBe(0);

    const done = await rolloutCli(['watch', id, '--interval', '0.3'], cliEnv);
    expect(done.code).toBe(0);
    expect((await rolloutCli(['locks'], cliEnv)).stdout.trim()).toBe('no cluster is held');
    const json = await rolloutCli(['status', id, '-o', 'json'], cliEnv);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status.state).toBe('succeeded');
    expect(status.chartVersion).toBe('2.2.0');
    expect(status.decisions).toEqual([
      expect.objectContaining({ kind: 'approve', phase: 'wave-1', by: 'cli-user', comment: 'canary looks good' }),
    ]);
    for (const c of ['lab-1', 'lab-2', 'lab-3']) expect(fleet.releases.get(c)?.chart?.version).toBe('2.2.0');

    const table = await rolloutCli(['status', id], cliEnv);
    expect(table.stdout).toContain('state: succeeded');
    // Output to a pipe (as here) carries no ANSI escape codes: not in borders, not anywhere.
    expect(table.stdout).not.toContain(String.fromCharCode(27));
    expect(table.stdout).toContain('approved by cli-user');

    const list = await rolloutCli(['list', '--plan', 'lab', '--state', 'succeeded'], cliEnv);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).not.toContain(String.fromCharCode(27));
  });

  it('freeze holds new starts and running rollouts; a version marked bad cannot start and pauses its rollout', async () => {
    const fid = `${id}-freeze`;
    const frozen = await rolloutCli(['freeze', '--plan', 'lab', '--reason', 'incident 42', '--as', 'oncall'], cliEnv);
    expect(frozen.code, frozen.stderr).toBe(0);
    const refused = await rolloutCli(
      ['start', 'rollout-plans/lab.yaml', '--chart-version', '2.5.0', '--id', fid],
      cliEnv,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused: plan lab is frozen by oncall (incident 42); rollout unfreeze lifts it');
    const listed = await rolloutCli(['freezes'], cliEnv);
    expect(listed.stdout).toMatch(/freeze .* plan lab .* oncall .* incident 42/);
    expect((await rolloutCli(['unfreeze', '--plan', 'lab'], cliEnv)).code).toBe(0);

    // A running rollout: frozen while it waits at its gate, it starts nothing until unfrozen.
    const wave = fleet.callsFor('lab-2').length;
    const release = fleet.hold('lab-1', 'verify-chart');
    expect(
      (await rolloutCli(['start', 'rollout-plans/lab.yaml', '--chart-version', '2.5.0', '--id', fid], cliEnv)).code,
    ).toBe(0);
    const held = await rolloutCli(['freeze', '--reason', 'change freeze', '--as', 'oncall'], cliEnv);
    try {
      expect(held.stdout).toContain(`1 running rollout(s) told: ${fid}`);
      release();
      const watched = await rolloutCli(['watch', fid, '--interval', '0.3'], cliEnv);
      expect(watched.stdout).toMatch(/frozen by oncall: change freeze/);
      expect(fleet.callsFor('lab-2'), 'nothing new started while frozen').toHaveLength(wave);
    } finally {
      // The other tests of this file must not inherit a freeze of everything.
      expect((await rolloutCli(['unfreeze'], cliEnv)).code).toBe(0);
    }

    // Marked bad while it runs: it pauses, saying why; and it cannot be started again.
    const denied = await rolloutCli(
      ['deny-version', 'express', '2.5.0', '--reason', 'corrupts caches', '--as', 'sre'],
      cliEnv,
    );
    expect(denied.code, denied.stderr).toBe(0);
    const paused = await rolloutCli(['status', fid, '-o', 'json'], cliEnv);
    const status = JSON.parse(paused.stdout) as { state: string; reason: string };
    expect(status.state).toBe('paused');
    expect(status.reason).toBe('paused: chart express 2.5.0 was marked bad by sre (corrupts caches)');
    // A denied version does not roll on with one resume: refused, naming the denial and the way out.
    const resumed = await rolloutCli(['resume', fid], cliEnv);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain(
      'chart express 2.5.0 was marked bad by sre (corrupts caches): this rollout cannot be resumed; roll it back or abort it, or lift the mark first (rollout allow-version express 2.5.0 --reason WHY)',
    );
    const allowed = await rolloutCli(
      ['allow-version', 'express', '2.5.0', '--reason', 'false alarm', '--as', 'sre'],
      cliEnv,
    );
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain(`its paused rollouts resumed (${fid})`);
    const decisions = async () =>
      (
        JSON.parse((await rolloutCli(['status', fid, '-o', 'json'], cliEnv)).stdout) as {
          decisions: { kind: string }[];
        }
      ).decisions.map((d) => d.kind);
    for (let i = 0; i < 50 && !(await decisions()).includes('allow-version'); i++)
      await new Promise((r) => setTimeout(r, 200));
    expect(await decisions()).toContain('allow-version');
    expect((await rolloutCli(['resume', fid], cliEnv)).code, 'resumable once the mark is lifted').toBe(0);
    expect((await rolloutCli(['pause', fid], cliEnv)).code).toBe(0);
    // Marked bad again: it cannot be started again.
    expect(
      (await rolloutCli(['deny-version', 'express', '2.5.0', '--reason', 'corrupts caches', '--as', 'sre'], cliEnv))
        .code,
    ).toBe(0);
    expect((await rolloutCli(['abort', fid, '--reason', 'bad version'], cliEnv)).code).toBe(0);
    await rolloutCli(['watch', fid, '--interval', '0.3'], cliEnv);
    const again = await rolloutCli(
      ['start', 'rollout-plans/lab.yaml', '--chart-version', '2.5.0', '--id', `${fid}-2`],
      cliEnv,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('refused: express 2.5.0 was marked bad by sre (corrupts caches)');
  });

  it('shows a terminated rollout as terminated, with the reason, in status, watch and list', async () => {
    const tid = `${id}-terminated`;
    const release = fleet.hold('lab-1', 'verify-chart');
    const started = await rolloutCli(
      ['start', 'rollout-plans/lab.yaml', '--chart-version', '2.3.0', '--id', tid],
      cliEnv,
    );
    expect(started.code).toBe(0);
    await env.client.workflow.getHandle(tid).terminate('operator pulled the plug');
    release();
    const status = await rolloutCli(['status', tid], cliEnv);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('state: terminated');
    expect(status.stdout).toContain('reason: operator pulled the plug');
    expect((await rolloutCli(['watch', tid], cliEnv)).code).toBe(1);
    const running = await rolloutCli(['list', '--plan', 'lab', '--state', 'running'], cliEnv);
    expect(running.stdout).not.toContain(tid);
    const terminated = await rolloutCli(['list', '--plan', 'lab', '--state', 'terminated'], cliEnv);
    expect(terminated.stdout).toMatch(new RegExp(`${tid} .*terminated`));
  });
});
