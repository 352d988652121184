import { setTimeout as sleep } from 'node:timers/promises';
import { exitCodeFor } from '../domain/display.js';
import { renderStatus } from './render.js';
import { fetchStatus } from './status.js';
import { Option, type Command } from 'commander';
import { parse } from './options.js';
import { print, withClient } from './shared.js';
import { action, type Outcome } from './verb.js';

/**
 * `rollout watch ID`: prints the status each time it changes, until the rollout ends (exit 0 when it
 * succeeded, 1 otherwise, including terminated or timed out) or waits for a person (exit 0, saying what it
 * waits for). Queries cost the rollout no history, so asking once a second is cheap.
 */
export function registerWatch(program: Command): void {
  program
    .command('watch')
    .argument('<id>', 'rollout workflow ID')
    .description('follow a rollout until it ends or waits for a person')
    .addOption(new Option('--interval <seconds>', 'how often to look').argParser(parse.positiveNumber).default(1))
    .action(action(watchCommand));
}

/** Prints as it goes (a stream, not one outcome); returns only the exit code. */
export async function watchCommand(id: string, opts: { interval: number }): Promise<Outcome> {
  const every = Math.max(200, opts.interval * 1000);
  return withClient(async (client) => {
    let last = '';
    for (;;) {
      const fetched = await fetchStatus(client, id);
      const text = renderStatus(fetched);
      if (text !== last) {
        print(`\n${new Date().toISOString()}\n${text}`);
        last = text;
      }
      const { shown } = fetched;
      if (shown.final) return { exitCode: exitCodeFor(shown) };
      if (shown.state === 'awaiting-approval' || shown.state === 'awaiting-decision' || shown.state === 'frozen') {
        return { text: `\nwaiting for a person: ${shown.reason ?? shown.state}` };
      }
      await sleep(every);
    }
  });
}
