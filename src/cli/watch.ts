import { setTimeout as sleep } from 'node:timers/promises';
import { exitCodeFor } from '../domain/display.js';
import { renderStatus } from './render.js';
import { fetchStatus } from './status.js';
import { print, withClient } from './shared.js';

/**
 * `rollout watch ID`: prints the status each time it changes, until the rollout ends (exit 0 when it
 * succeeded, 1 otherwise, including terminated or timed out) or waits for a person (exit 0, saying what it
 * waits for). Queries cost the rollout no history, so asking once a second is cheap.
 */
export async function watchCommand(id: string, opts: { interval: number }): Promise<number> {
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
      if (shown.final) return exitCodeFor(shown);
      if (shown.state === 'awaiting-approval' || shown.state === 'awaiting-decision') {
        print(`\nwaiting for a person: ${shown.reason ?? shown.state}`);
        return 0;
      }
      await sleep(every);
    }
  });
}
