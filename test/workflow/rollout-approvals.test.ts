/**
 * Approvals that cannot be forged, on a real dev server: SSH keys made by ssh-keygen, signatures made as
 * `rollout approve --sign-with` makes them, verified by the real activity against an allowed-signers file
 * in the rollout's pinned source. The fleet is doubled; the identities are not.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalActivities } from '../../src/adapters/ssh-signatures.js';
import { digestPath, SourceFiles } from '../../src/adapters/source.js';
import { approvalMessage, approvalNamespace, startMessage } from '../../src/domain/approvals.js';
import { sourceRevision } from '../../src/domain/source.js';
import type { RolloutInput } from '../../src/domain/types.js';
import { approveUpdate, statusQuery } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

const dir = mkdtempSync(join(tmpdir(), 'signers-'));
/** A key pair per person, as each would have in ~/.ssh. */
const key = (who: string) => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', who, '-f', join(dir, who)]);
  return join(dir, who);
};
const sign = (keyFile: string, text: string) =>
  execFileSync('ssh-keygen', ['-Y', 'sign', '-f', keyFile, '-n', approvalNamespace, '-q'], {
    input: text,
    encoding: 'utf8',
  });

let env: TemporalTestEnv;
const keys: Record<string, string> = {};
beforeAll(async () => {
  for (const who of ['alice', 'carol', 'mallory', 'tester']) keys[who] = key(who);
  // Who may approve is part of the config source: alice, carol and the initiator, not mallory.
  const line = (who: string) => `${who} ${readFileSync(`${keys[who]}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}`;
  writeFileSync(join(dir, 'allowed_signers'), ['alice', 'carol', 'tester'].map(line).join('\n') + '\n');
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

/** The start's signature, as `rollout start --sign-with` makes it. */
function signStart(input: RolloutInput, id: string, keyFile: string, signedAt = new Date().toISOString()) {
  const nonce = randomBytes(16).toString('hex');
  const text = startMessage({
    rollout: id,
    plan: input.plan.metadata.name,
    source: sourceRevision(input.source),
    versions: input.versions,
    by: input.startedBy,
    signedAt,
    nonce,
  });
  return { signature: sign(keyFile, text), signedAt, nonce };
}

describe('signed approvals', () => {
  it('counts only fresh signatures by the named approver over this rollout, phase and diff, and the policy', async () => {
    const x = `s${randomBytes(3).toString('hex')}`;
    const [c1, c2] = [`${x}-c1`, `${x}-c2`];
    const fleet = new FakeFleet([c1, c2]);
    const files = new SourceFiles({ git: 'git', cacheDir: mkdtempSync(join(tmpdir(), 'sources-')) });
    await env.startWorker({ ...fleet.activities(), ...createApprovalActivities({ files }) });
    const input = testInput(
      [
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2], approval: 'required' },
      ],
      { approvals: { allowedSigners: 'allowed_signers', minApprovals: 2, forbidInitiator: true } },
    );
    input.source = {
      kind: 'local',
      baseDir: dir,
      digests: { allowed_signers: await digestPath(join(dir, 'allowed_signers')) },
      digest: '',
    };
    const id = `rollout-signed-${x}`;
    const signedStart = { ...input, startSignature: signStart(input, id, keys['tester']!) };
    const handle = await env.start(signedStart, id);
    const gated = await waitForStatus(handle, (s) => s.state === 'awaiting-approval');
    expect(gated.startedByVerified, 'the initiator is proven, not claimed').toBe(true);
    expect(gated.reason, 'the command the gate suggests signs, as this plan needs').toContain(
      `(rollout approve ${id} --phase wave --sign-with KEY)`,
    );
    expect(gated.approvals).toBe(
      '2 approvals per gate, not by the initiator; signed with SSH keys, verified against allowed_signers in the pinned source',
    );
    const digest = gated.phases[1]?.diff?.digest;
    // What `rollout approve --sign-with` signs: the run the rollout's status names.
    const runId = gated.runId ?? '';
    const approval = (
      by: string,
      opts: { key?: string; phase?: string; rollout?: string; run?: string; signedAt?: string } = {},
    ) => {
      const signedAt = opts.signedAt ?? new Date().toISOString();
      const text = approvalMessage({
        rollout: opts.rollout ?? handle.workflowId,
        run: opts.run ?? runId,
        phase: opts.phase ?? 'wave',
        digest,
        by,
        signedAt,
      });
      return { phase: 'wave', by, digest, signedAt, signature: sign(opts.key ?? keys[by]!, text) };
    };
    const refusal = async (args: object) => {
      const err = await handle.executeUpdate(approveUpdate, { args: [args as never] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      return ((err as WorkflowUpdateFailedError).cause as Error).message;
    };

    expect(await refusal({ phase: 'wave', by: 'alice' })).toMatch(
      /^this plan's approvals must be signed: rollout approve/,
    );
    expect(await refusal(approval('alice', { key: keys['mallory'] }))).toMatch(
      /^the signature does not verify for alice over rollout .*, phase wave, diff \w{12} against allowed_signers/,
    );
    expect(await refusal(approval('mallory'))).toMatch(/^the signature does not verify for mallory/);
    expect(await refusal(approval('alice', { phase: 'canary' })), 'a signature for another phase').toMatch(
      /^the signature does not verify for alice/,
    );
    expect(await refusal(approval('alice', { rollout: 'rollout-other' })), 'for another rollout').toMatch(
      /^the signature does not verify for alice/,
    );
    // Signed for an earlier run of the same rollout ID (aborted, then started again): not this run's approval.
    expect(runId).toBe((await handle.describe()).runId);
    expect(await refusal(approval('alice', { run: 'an-earlier-run' })), 'for another run').toMatch(
      /^the signature does not verify for alice/,
    );
    const stale = new Date(Date.now() - 3_600_000).toISOString();
    expect(await refusal(approval('alice', { signedAt: stale }))).toMatch(/not within 10 minutes of now: sign again$/);
    expect(await refusal(approval('tester'))).toBe(
      'tester started this rollout and may not approve it (spec.approvals.forbidInitiator)',
    );

    const first = approval('alice');
    await handle.executeUpdate(approveUpdate, { args: [first] });
    expect(await refusal(first), 'the same signature again').toBe('alice has already approved phase "wave"');
    const one = await handle.query(statusQuery);
    expect(one.state).toBe('awaiting-approval');
    expect(one.phases[1]?.approvals?.map((a) => [a.by, a.verified])).toEqual([['alice', true]]);
    expect(fleet.callsFor(c2), 'one approval of two starts nothing').toEqual([]);

    await handle.executeUpdate(approveUpdate, { args: [approval('carol')] });
    expect((await handle.result()).state).toBe('succeeded');
    const done = await handle.query(statusQuery);
    expect(done.phases[1]?.approvals?.map((a) => a.by)).toEqual(['alice', 'carol']);

    // The signed start re-sent once the run has closed: the same ID, so a new run, which tester never
    // started. Its signature is fresh and verifies, but it has started a run already.
    const callsBefore = fleet.calls.length;
    const again = await env.start(signedStart, id);
    const err = await again.result().catch((e: unknown) => e);
    let root = err as Error;
    while (root.cause instanceof Error) root = root.cause;
    expect(root.message).toBe(
      `this signed start was used already, by run ${handle.firstExecutionRunId} of ${id}: a signature starts one run; sign a new start (rollout start PLAN --sign-with KEY)`,
    );
    expect(
      fleet.calls.slice(callsBefore).filter((c) => c.activity !== 'preflight'),
      'the second run touched nothing',
    ).toEqual([]);
  });
  it("refuses a start that is unsigned, or signed by another key than the initiator's, before touching anything", async () => {
    const x = `u${randomBytes(3).toString('hex')}`;
    const fleet = new FakeFleet([`${x}-c1`]);
    const files = new SourceFiles({ git: 'git', cacheDir: mkdtempSync(join(tmpdir(), 'sources-')) });
    await env.startWorker({ ...fleet.activities(), ...createApprovalActivities({ files }) });
    const input = testInput([{ name: 'canary', clusters: [`${x}-c1`], approval: 'auto' }], {
      approvals: { allowedSigners: 'allowed_signers', forbidInitiator: true },
    });
    input.source = {
      kind: 'local',
      baseDir: dir,
      digests: { allowed_signers: await digestPath(join(dir, 'allowed_signers')) },
      digest: '',
    };
    const refused = async (start: RolloutInput, id: string) => {
      const err = await (await env.start(start, id)).result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      let e = err as Error;
      while (e.cause instanceof Error) e = e.cause;
      return e.message;
    };
    expect(await refused(input, `rollout-unsigned-${x}`)).toMatch(
      /^this plan's approvals are signed, so its rollouts are started signed too: rollout start PLAN/,
    );
    // Mallory starts under tester's name with her own key: the initiator she claims is not proven.
    const forged = { ...input, startSignature: signStart(input, `rollout-forged-${x}`, keys['mallory']!) };
    expect(await refused(forged, `rollout-forged-${x}`)).toMatch(
      /^the start signature does not verify for tester against allowed_signers/,
    );
    const other = { ...input, startSignature: signStart(input, `rollout-a-${x}`, keys['tester']!) };
    expect(await refused(other, `rollout-b-${x}`), 'a signature for another rollout').toMatch(
      /^the start signature does not verify for tester/,
    );
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const stale = { ...input, startSignature: signStart(input, `rollout-stale-${x}`, keys['tester']!, hourAgo) };
    expect(await refused(stale, `rollout-stale-${x}`), 'a signature kept for later').toMatch(
      /not within 10 minutes of starting the rollout$/,
    );
    // Only the read-only preflight ran: no snapshot, no upgrade, no lock.
    expect(
      fleet.calls.filter((c) => c.activity !== 'preflight'),
      'no cluster touched',
    ).toEqual([]);
  });
});
