import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { sourceRevision } from '../domain/source.js';
import type { RolloutInput } from '../domain/types.js';

/** Typed search attributes the rollout upserts on every transition; register them on the namespace. */
export const RolloutPlanKey = defineSearchAttributeKey('RolloutPlan', SearchAttributeType.KEYWORD);
export const RolloutStateKey = defineSearchAttributeKey('RolloutState', SearchAttributeType.KEYWORD);
export const RolloutPhaseKey = defineSearchAttributeKey('RolloutPhase', SearchAttributeType.KEYWORD);
export const ChartVersionKey = defineSearchAttributeKey('ChartVersion', SearchAttributeType.KEYWORD);
export const OperatorVersionKey = defineSearchAttributeKey('OperatorVersion', SearchAttributeType.KEYWORD);
/** The pinned source: a git commit, or "local:" and a digest of the plan's files. */
export const SourceCommitKey = defineSearchAttributeKey('SourceCommit', SearchAttributeType.KEYWORD);
/** On fleet checks (`rollout fleet`, and its schedule): "in-sync" or "drift". */
export const FleetVerdictKey = defineSearchAttributeKey('FleetVerdict', SearchAttributeType.KEYWORD);

export const rolloutSearchAttributes = [
  RolloutPlanKey,
  RolloutStateKey,
  RolloutPhaseKey,
  ChartVersionKey,
  OperatorVersionKey,
  SourceCommitKey,
  FleetVerdictKey,
] as const;

/** The attributes' values for a rollout in a given state and phase: the one mapping the CLI and workflow share. */
export function rolloutAttributes(
  input: Pick<RolloutInput, 'plan' | 'chartVersion' | 'operatorVersion' | 'source'>,
  state: string,
  phase = '',
): SearchAttributePair[] {
  return [
    { key: SourceCommitKey, value: sourceRevision(input.source) },
    { key: RolloutPlanKey, value: input.plan.metadata.name },
    { key: RolloutStateKey, value: state },
    { key: RolloutPhaseKey, value: phase },
    { key: ChartVersionKey, value: input.chartVersion },
    { key: OperatorVersionKey, value: input.operatorVersion },
  ];
}
