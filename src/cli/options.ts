import { InvalidArgumentError, Option, type Command } from 'commander';
import { semverPattern } from '../plan/semver.js';

/** Option parsers: commander reports a bad value, naming the option, and the CLI exits 2. */
export const parse = {
  positiveNumber(this: void, value: string): number {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0.');
    return n;
  },
  positiveInteger(this: void, value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of 1 or more.');
    return n;
  },
  port(this: void, value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a port, 1 to 65535.');
    return n;
  },
  version(this: void, value: string): string {
    if (!semverPattern.test(value)) {
      throw new InvalidArgumentError('must be a SemVer 2 version such as 1.4.2 or 2.0.0-rc.1.');
    }
    return value;
  },
};

/** Who acts, for the record (and the approvers list). */
export const asOption = () =>
  new Option('--as <name>', 'who is acting').env('ROLLOUT_USER').default(undefined, '$ROLLOUT_USER or the OS user');

/** Why, for the record. */
export const commentOption = () => new Option('-m, --comment <text>', 'why, for the record');

/** States `list --state` can filter on: the rollout's own, and those only Temporal records. */
export const listableStates = [
  'starting',
  'running',
  'paused',
  'awaiting-approval',
  'baking',
  'awaiting-decision',
  'rolling-back',
  'succeeded',
  'rolled-back',
  'aborted',
  'failed',
  'terminated',
  'timed-out',
  'cancelled',
] as const;

/** `--cluster NAME`, repeatable: the clusters a verb is about. */
export const clusterOption = () =>
  new Option('--cluster <name>', 'only this cluster (repeat for more)').argParser(
    (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  );

/**
 * `--cluster NAME` (repeatable), `--phase NAME` and `--all`: which clusters `status` and `watch` list. A
 * large rollout lists only the clusters in flight or failed unless asked.
 */
export function clusterFilterOptions(cmd: Command): Command {
  return cmd
    .addOption(clusterOption())
    .option('--phase <name>', "only this phase's clusters")
    .option('--all', 'list every cluster, however many');
}
