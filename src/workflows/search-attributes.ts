import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed search attributes the rollout upserts on every transition; register them on the namespace. */
export const RolloutPlanKey = defineSearchAttributeKey('RolloutPlan', SearchAttributeType.KEYWORD);
export const RolloutStateKey = defineSearchAttributeKey('RolloutState', SearchAttributeType.KEYWORD);
export const RolloutPhaseKey = defineSearchAttributeKey('RolloutPhase', SearchAttributeType.KEYWORD);
export const ChartVersionKey = defineSearchAttributeKey('ChartVersion', SearchAttributeType.KEYWORD);
export const OperatorVersionKey = defineSearchAttributeKey('OperatorVersion', SearchAttributeType.KEYWORD);

export const rolloutSearchAttributes = [
  RolloutPlanKey,
  RolloutStateKey,
  RolloutPhaseKey,
  ChartVersionKey,
  OperatorVersionKey,
] as const;
