import { setTimeout as sleep } from 'node:timers/promises';
import { exitCodeFor, waitsForPerson } from '../domain/display.js';
import { renderStatus, type StatusView } from './render.js';
import { fetchStatus } from './status.js';
import { Option, type Command } from 'commander';
import { clusterFilterOptions, parse } from './options.js';
import { exitCodes, print, withClient } from './shared.js';
import { action, type Outcome } from './verb.js';

/**
 * `rollout watch ID`: the status each time it changes, until the rollout ends (exit 0 when it succeeded, 1
 * otherwise, including terminated or timed out) or waits for a person (exit 3, saying what it waits for),
 * so scripts can branch on it. On a terminal it redraws in place; otherwise it prints each change after a
 * timestamp. Queries cost the rollout no history, so asking once a second is cheap.
 */
export function registerWatch(program: Command): void {
  const cmd = program
    .command('watch')
    .argument('<id>', 'rollout workflow ID')
    .description('follow a rollout until it ends (exit 0 succeeded, 1 otherwise) or waits for a person (exit 3)')
    .addOption(new Option('--interval <seconds>', 'how often to look').argParser(parse.positiveNumber).default(1));
  clusterFilterOptions(cmd).action(action(watchCommand));
}

/** Clears a terminal and puts the cursor home: the next status replaces the last one. */
const redraw = '\x1b[H\x1b[2J';

/** Prints as it goes (a stream, not one outcome); returns only the exit code and the last word. */
export async function watchCommand(id: string, opts: { interval: number } & StatusView): Promise<Outcome> {
  const every = Math.max(200, opts.interval * 1000);
  const tty = process.stdout.isTTY === true;
  return withClient(async (client) => {
    let last = '';
    for (;;) {
      const fetched = await fetchStatus(client, id, opts);
      const text = renderStatus(fetched, opts);
      if (text !== last) {
        print(
          tty ? `${redraw}${text}\n(watching; ${new Date().toISOString()})` : `\n${new Date().toISOString()}\n${text}`,
        );
        last = text;
      }
      const { shown } = fetched;
      if (shown.final) return { exitCode: exitCodeFor(shown) };
      if (waitsForPerson(shown)) {
        return { text: `\nwaiting for a person: ${shown.reason ?? shown.state}`, exitCode: exitCodes.waiting };
      }
      await sleep(every);
    }
  });
}
