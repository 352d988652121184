import { Option } from 'commander';
import { exitCodes, print } from './shared.js';

/** What a verb returns: text for a person, data for `-o json`, and the exit code (default 0). */
export interface Outcome {
  text?: string;
  data?: unknown;
  exitCode?: number;
}

/** `-o table|json` for every verb that prints data. */
export const outputOption = () =>
  new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');

/**
 * Wraps a verb for commander: the one place that prints what verbs return (their data as JSON with
 * `-o json`, else their text) and sets the exit code. Errors go to main's handler (CliError: its message
 * and code).
 */
export function action<A extends unknown[]>(verb: (...args: A) => Promise<Outcome | void> | Outcome | void) {
  return async (...args: A): Promise<void> => {
    const outcome = (await verb(...args)) ?? {};
    const opts = args.at(-2) as { output?: string } | undefined;
    if (opts?.output === 'json' && outcome.data !== undefined) print(JSON.stringify(outcome.data, null, 2));
    else if (outcome.text !== undefined) print(outcome.text);
    process.exitCode = outcome.exitCode ?? exitCodes.ok;
  };
}
