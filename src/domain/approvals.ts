import type { ApprovalPolicy } from '../plan/schema.js';
import type { Approval, PhaseStatus, RolloutStatus } from './types.js';

/** The namespace approvals are signed in (`ssh-keygen -Y sign -n`), so no other signature can pass for one. */
export const approvalNamespace = 'phased-rollout-approval';

/** How long after signing an approval may be sent: a signature cannot be kept and replayed later. */
export const signatureMaxAgeMs = 10 * 60_000;

/**
 * The text an approver signs: which rollout, which phase, which diff, who and when. A signature for
 * another rollout, phase or diff, or by another person, does not verify against it.
 */
export function approvalMessage(a: {
  rollout: string;
  run: string;
  phase: string;
  digest?: string;
  by: string;
  signedAt: string;
}) {
  return [
    'phased-rollout approval',
    `rollout: ${a.rollout}`,
    `run: ${a.run}`,
    `phase: ${a.phase}`,
    `digest: ${a.digest ?? 'none'}`,
    `by: ${a.by}`,
    `signed-at: ${a.signedAt}`,
    '',
  ].join('\n');
}

/**
 * The text an initiator signs when the plan's approvals are signed (`rollout start --sign-with`): which
 * rollout, plan, pinned source and versions, who and when. It names the initiator with the same proof as
 * approvers, so `forbidInitiator` cannot be passed by starting under another name. Its first line differs
 * from an approval's, so neither signature passes for the other.
 */
export function startMessage(a: {
  rollout: string;
  plan: string;
  source: string;
  /** Every component's version, by name. */
  versions: Record<string, string>;
  by: string;
  signedAt: string;
  nonce: string;
}) {
  return [
    'phased-rollout start',
    `rollout: ${a.rollout}`,
    `plan: ${a.plan}`,
    `source: ${a.source}`,
    ...Object.entries(a.versions).map(([name, version]) => `version: ${name}=${version}`),
    `by: ${a.by}`,
    `signed-at: ${a.signedAt}`,
    `nonce: ${a.nonce}`,
    '',
  ].join('\n');
}

/** The group a requirement names (`group:sre` names sre), or undefined for a person. */
export function requiredGroup(required: string): string | undefined {
  return required.startsWith('group:') ? required.slice('group:'.length) : undefined;
}

/** Whether one requirement (`alice`, or `group:sre` for any member of that group) is among the approvers. */
function requirementMet(policy: ApprovalPolicy | undefined, required: string, who: Set<string>): boolean {
  const group = requiredGroup(required);
  if (group === undefined) return who.has(required);
  return (policy?.groups?.[group] ?? []).some((m) => who.has(m));
}

/** The policy's requirements no approval meets yet, as written (`alice`, `group:sre`). */
export function unmetRequirements(policy: ApprovalPolicy | undefined, approvals: readonly Approval[]): string[] {
  const who = new Set(approvals.map((a) => a.by));
  return (policy?.required ?? []).filter((r) => !requirementMet(policy, r, who));
}

/**
 * Whether a phase's approvals meet the policy: enough distinct people, and each requirement met (a person
 * named, or a member of a group named).
 */
export function gateApproved(policy: ApprovalPolicy | undefined, approvals: readonly Approval[]): boolean {
  const who = new Set(approvals.map((a) => a.by));
  return who.size >= (policy?.minApprovals ?? 1) && unmetRequirements(policy, approvals).length === 0;
}

/** Why one more approval of a phase is refused by the policy, or undefined. */
export function refuseByPolicy(
  status: RolloutStatus,
  phase: PhaseStatus,
  policy: ApprovalPolicy | undefined,
  by: string,
): string | undefined {
  if (policy?.forbidInitiator && by === status.startedBy) {
    return `${by} started this rollout and may not approve it (spec.approvals.forbidInitiator)`;
  }
  if ((phase.approvals ?? []).some((a) => a.by === by)) return `${by} has already approved phase "${phase.name}"`;
  return undefined;
}

/** What status says of approvals: verified signatures, or names as claimed. */
export function approvalsLine(policy: ApprovalPolicy | undefined): string {
  const named = (r: string) => {
    const group = requiredGroup(r);
    return group === undefined ? r : `one of ${group} (${(policy?.groups?.[group] ?? []).join(', ')})`;
  };
  const rule = policy
    ? `${policy.minApprovals} approval${policy.minApprovals === 1 ? '' : 's'} per gate${policy.required.length ? `, including ${policy.required.map(named).join(', ')}` : ''}${policy.forbidInitiator ? ', not by the initiator' : ''}`
    : '1 approval per gate';
  return policy?.allowedSigners
    ? `${rule}; signed with SSH keys, verified against ${policy.allowedSigners} in the pinned source`
    : `${rule}; names as claimed, not verified (spec.approvals.allowedSigners makes them signed)`;
}
