import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  allowVersionUpdate,
  claimStartUpdate,
  denyVersionUpdate,
  freezeSignal,
  freezeUpdate,
  registryQuery,
  unfreezeUpdate,
  versionAllowedSignal,
  versionDeniedSignal,
  type RegistryReply,
} from './definitions.js';
import type { TellRolloutsInput } from '../activities/contracts.js';
import type { RegistryState, StartClaim } from '../domain/types.js';
import { quick } from './activity-options.js';
import { nowIso } from './clock.js';

const scopeOf = (plan?: string) => plan ?? '*';

/**
 * Keeps the freezes and bad chart versions, durably: a workflow that waits forever and continues as new
 * when its history grows. Rollouts read it when they start (an activity queries it); after each change it
 * tells the running rollouts the change concerns (an activity signals them), so a change reaches them all
 * even if the person's CLI stops half-way. The Web UI shows what is in force as its current details.
 * It also remembers which run took each signed start's nonce, until the signature is too old to start any.
 */
export async function controlRegistry(
  state: RegistryState = { freezes: [], denied: [] },
  kept: { starts?: StartClaim[] } = {},
): Promise<void> {
  const { taskQueue } = workflowInfo();
  let starts = kept.starts ?? [];
  /** Tells the rollouts concerned; the update answers once they are told. */
  const tell = async (to: Omit<TellRolloutsInput, 'taskQueue'>): Promise<RegistryReply> => {
    const { told } = await quick.tellRollouts({ taskQueue, ...to });
    return { ...state, told };
  };
  const show = () =>
    setCurrentDetails(
      [
        `**freezes**: ${state.freezes.map((f) => `${f.plan === '*' ? 'everything' : f.plan} (${f.by}: ${f.reason})`).join('; ') || 'none'}`,
        '',
        `**bad versions**: ${state.denied.map((d) => `${d.chart} ${d.version} (${d.by}: ${d.reason})`).join('; ') || 'none'}`,
      ].join('\n'),
    );
  show();
  setHandler(registryQuery, () => state, { description: 'Freezes and bad chart versions in force. No arguments.' });
  setHandler(
    freezeUpdate,
    (req) => {
      state.freezes = [
        ...state.freezes.filter((f) => f.plan !== scopeOf(req.plan)),
        { plan: scopeOf(req.plan), reason: req.reason, by: req.by, at: nowIso() },
      ];
      show();
      const args = { frozen: true, reason: req.reason, by: req.by };
      return tell({ to: { plan: req.plan }, signal: freezeSignal.name, args });
    },
    {
      validator: (req: { plan?: string; reason: string; by: string }) => {
        if (!req.reason?.trim()) throw new Error('give a reason for the freeze (--reason)');
        if (!req.by?.trim()) throw new Error('say who you are (--as NAME)');
      },
      description:
        'Freeze every rollout, or one plan\'s: {"plan": "express", "reason": "why", "by": "your name"} (no plan: all).',
    },
  );
  setHandler(
    unfreezeUpdate,
    (req) => {
      state.freezes = state.freezes.filter((f) => f.plan !== scopeOf(req.plan));
      show();
      // A rollout stays frozen while another freeze (of everything, or of its plan) is still in force.
      if (state.freezes.some((f) => f.plan === '*')) return { ...state, told: [] };
      const exceptPlans = state.freezes.map((f) => f.plan);
      return tell({
        to: { plan: req.plan },
        exceptPlans,
        signal: freezeSignal.name,
        args: { frozen: false, by: req.by },
      });
    },
    {
      validator: (req: { plan?: string; by: string }) => {
        if (!state.freezes.some((f) => f.plan === scopeOf(req.plan))) {
          throw new Error(`${req.plan ? `plan ${req.plan} is` : 'everything is'} not frozen`);
        }
      },
      description: 'Lift a freeze: {"plan": "express", "by": "your name"} (no plan: the freeze of everything).',
    },
  );
  setHandler(
    denyVersionUpdate,
    (req) => {
      state.denied = [
        ...state.denied.filter((d) => !(d.chart === req.chart && d.version === req.version)),
        { chart: req.chart, version: req.version, reason: req.reason, by: req.by, at: nowIso() },
      ];
      show();
      return tell({ to: {}, signal: versionDeniedSignal.name, args: req });
    },
    {
      validator: (req: { chart: string; version: string; reason: string; by: string }) => {
        if (!req.reason?.trim()) throw new Error('say why the version is bad (--reason)');
      },
      description:
        'Mark a chart version bad: {"chart": "express", "version": "2.3.0", "reason": "why", "by": "your name"}.',
    },
  );
  setHandler(
    allowVersionUpdate,
    (req) => {
      state.denied = state.denied.filter((d) => !(d.chart === req.chart && d.version === req.version));
      show();
      return tell({ to: {}, signal: versionAllowedSignal.name, args: req });
    },
    {
      validator: (req: { chart: string; version: string; reason: string; by: string }) => {
        if (!req.reason?.trim()) throw new Error('say why the version may roll again (--reason)');
        if (!state.denied.some((d) => d.chart === req.chart && d.version === req.version)) {
          throw new Error(`${req.chart} ${req.version} is not marked bad`);
        }
      },
      description:
        'Lift the bad mark of a chart version: {"chart": "express", "version": "2.3.0", "reason": "why", "by": "your name"}.',
    },
  );
  setHandler(
    claimStartUpdate,
    (claim) => {
      const now = nowIso();
      starts = starts.filter((s) => s.expiresAt > now);
      const held = starts.find((s) => s.nonce === claim.nonce);
      if (held && !(held.rollout === claim.rollout && held.runId === claim.runId)) {
        return { granted: false, by: { rollout: held.rollout, runId: held.runId } };
      }
      if (!held) starts = [...starts, claim];
      return { granted: true };
    },
    {
      validator: (claim: StartClaim) => {
        if (!claim.nonce || !claim.rollout || !claim.runId || !claim.expiresAt) {
          throw new Error('claim-start takes {"nonce", "rollout", "runId", "expiresAt"}');
        }
      },
      description: "Taken by a rollout that verified its signed start: the start's nonce is good for one run.",
    },
  );
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof controlRegistry>(state, { starts });
}
