import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { RolloutInput } from '../domain/types.js';
import { primaryVersion, sourceRevision } from '../domain/source.js';

/** Typed search attributes the rollout upserts on every transition; register them on the namespace. */
export const RolloutPlanKey = defineSearchAttributeKey('RolloutPlan', SearchAttributeType.KEYWORD);
export const RolloutStateKey = defineSearchAttributeKey('RolloutState', SearchAttributeType.KEYWORD);
export const RolloutPhaseKey = defineSearchAttributeKey('RolloutPhase', SearchAttributeType.KEYWORD);
/** The primary component's version (the product's chart). */
export const ChartVersionKey = defineSearchAttributeKey('ChartVersion', SearchAttributeType.KEYWORD);
/**
 * Every component's version as `NAME=VERSION`, one keyword each (`RolloutVersions = 'farmer=1.4.1'` finds
 * the rollouts of that farmer): one attribute for any number of components, within a namespace's budget.
 */
export const RolloutVersionsKey = defineSearchAttributeKey('RolloutVersions', SearchAttributeType.KEYWORD_LIST);
/** The pinned source: a git commit, or "local:" and a digest of the plan's files. */
export const SourceCommitKey = defineSearchAttributeKey('SourceCommit', SearchAttributeType.KEYWORD);
/** On fleet checks (`rollout fleet`, and its schedule): "in-sync" or "drift". */
export const FleetVerdictKey = defineSearchAttributeKey('FleetVerdict', SearchAttributeType.KEYWORD);

export const rolloutSearchAttributes = [
  RolloutPlanKey,
  RolloutStateKey,
  RolloutPhaseKey,
  ChartVersionKey,
  RolloutVersionsKey,
  SourceCommitKey,
  FleetVerdictKey,
] as const;

/** The attributes' values for a rollout in a given state and phase: the one mapping the CLI and workflow share. */
export function rolloutAttributes(
  input: Pick<RolloutInput, 'plan' | 'versions' | 'source'>,
  state: string,
  phase = '',
): SearchAttributePair[] {
  return [
    { key: SourceCommitKey, value: sourceRevision(input.source) },
    { key: RolloutPlanKey, value: input.plan.metadata.name },
    { key: RolloutStateKey, value: state },
    { key: RolloutPhaseKey, value: phase },
    { key: ChartVersionKey, value: primaryVersion(input) },
    { key: RolloutVersionsKey, value: Object.entries(input.versions).map(([n, v]) => `${n}=${v}`) },
  ];
}

/** The name the operator service and `temporal server start-dev --search-attribute` give each type. */
export function indexedType(key: (typeof rolloutSearchAttributes)[number]): { name: string; value: number } {
  // temporal.api.enums.v1.IndexedValueType: KEYWORD 2, KEYWORD_LIST 7.
  return key.type === SearchAttributeType.KEYWORD_LIST
    ? { name: 'KeywordList', value: 7 }
    : { name: 'Keyword', value: 2 };
}
