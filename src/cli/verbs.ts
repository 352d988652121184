/**
 * Which module registers each verb, loaded only when its verb runs: `rollout status` does not load the
 * plan's parser and schema, Helm's adapters or the fleet's reader, so it starts about a quarter sooner
 * (`rollout status --help` 0.36 s against 0.47 s on an idle machine; more under load, where the CLI is run
 * most, next to a saturated worker). Help, no verb, or a verb not known registers every module, so help
 * lists them all and a wrong verb is refused with the whole list. test/unit/cli-verbs.test.ts checks this
 * table against what each module registers.
 */
import type { Command } from 'commander';

type Register = (program: Command) => void;

const validate = async () => (await import('./validate.js')).registerValidate;
const start = async () => (await import('./start.js')).registerStart;
const status = async () => (await import('./status.js')).registerStatus;
const watch = async () => (await import('./watch.js')).registerWatch;
const controls = async () => (await import('./controls.js')).registerControls;
const diff = async () => (await import('./diff.js')).registerDiff;
const fleet = async () => (await import('./fleet.js')).registerFleet;
const registry = async () => (await import('./registry.js')).registerRegistry;
const list = async () => (await import('./list.js')).registerList;
const locks = async () => (await import('./locks.js')).registerLocks;
const setup = async () => (await import('./setup.js')).registerSetup;
const codec = async () => (await import('./codec.js')).registerCodec;

/** Each verb's module. */
export const verbModule: Record<string, () => Promise<Register>> = {
  validate,
  start,
  status,
  watch,
  approve: controls,
  pause: controls,
  resume: controls,
  abort: controls,
  rollback: controls,
  retry: controls,
  accept: controls,
  skip: controls,
  'override-window': controls,
  diff,
  fleet,
  freeze: registry,
  unfreeze: registry,
  'deny-version': registry,
  'allow-version': registry,
  freezes: registry,
  list,
  locks,
  setup,
  'codec-server': codec,
};

/** Every module once, in the order help lists their verbs. */
export const verbModules = [...new Set(Object.values(verbModule))];

/** Registers the verb the arguments name (the first that is not an option), else every verb. */
export async function registerVerbs(program: Command, args: string[]): Promise<void> {
  const verb = args.find((a) => !a.startsWith('-'));
  const one = verb !== undefined && Object.hasOwn(verbModule, verb) ? verbModule[verb] : undefined;
  for (const load of one ? [one] : verbModules) (await load())(program);
}
