import { InvalidArgumentError, Option } from 'commander';
import { componentsOf, primaryComponent, versionsOf } from '../plan/components.js';
import type { RolloutPlan } from '../plan/schema.js';
import { parse } from './options.js';
import { CliError, exitCodes } from './shared.js';

/** What `start` and `diff` take to choose versions: `--set NAME=VERSION`, and the shorthands. */
export interface VersionOptions {
  set?: string[];
  chartVersion?: string;
  operatorVersion?: string;
}

/** `--set NAME=VERSION`, repeatable, checked as it is read (a bad one exits 2 naming it). */
export const setOption = (what: string) =>
  new Option(
    '--set <name=version>',
    `${what} one component's version (repeat for several; default: the plan's)`,
  ).argParser((value: string, before: string[] | undefined) => {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(.+)$/.exec(value);
    if (!m) throw new InvalidArgumentError('write it as NAME=VERSION, e.g. --set farmer=1.4.1.');
    parse.version(m[3] as string);
    return [...(before ?? []), value];
  });

/** The shorthands: `--chart-version` for the primary component (the product's chart), `--operator-version`. */
export const chartVersionOption = (what: string) =>
  new Option(
    '--chart-version <version>',
    `${what} the product chart's version: the same as --set with the primary component's name`,
  ).argParser(parse.version);
export const operatorVersionOption = (what: string) =>
  new Option(
    '--operator-version <version>',
    `${what} the operator's version: the same as --set operator=VERSION`,
  ).argParser(parse.version);

/**
 * Every component's version for a plan: the plan's, with `--set` and the shorthands over it. A name that is
 * no component of the plan, or a component given twice, exits 2 naming it and the plan's components.
 */
export function chosenVersions(plan: RolloutPlan, file: string, opts: VersionOptions): Record<string, string> {
  const components = componentsOf(plan);
  const given: [string, string][] = (opts.set ?? []).map((s) => {
    const at = s.indexOf('=');
    return [s.slice(0, at), s.slice(at + 1)];
  });
  if (opts.chartVersion) given.push([primaryComponent(components).name, opts.chartVersion]);
  if (opts.operatorVersion) given.push(['operator', opts.operatorVersion]);
  const names = components.map((c) => c.name).join(', ');
  const twice = given.find(([n], i) => given.findIndex(([m]) => m === n) !== i);
  if (twice) throw new CliError(`${file}: component "${twice[0]}" is given a version twice`, exitCodes.usage);
  const chosen = versionsOf(components, Object.fromEntries(given));
  if ('unknown' in chosen) {
    throw new CliError(
      `${file}: no component ${chosen.unknown.map((n) => `"${n}"`).join(', ')} in spec.release; its components are ${names}`,
      exitCodes.usage,
    );
  }
  return chosen.versions;
}
