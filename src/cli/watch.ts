import { setTimeout as sleep } from 'node:timers/promises';
import { finalStates } from '../domain/types.js';
import { renderStatus } from './render.js';
import { fetchStatus } from './status.js';
import { print, withClient } from './shared.js';

/**
 * `rollout watch ID`: prints the status each time it changes, until the rollout ends (exit 0 when it
 * succeeded, 1 otherwise) or waits for a person (exit 0, saying what it waits for). Queries cost the
 * rollout no history, so polling them once a second is cheap.
 */
export async function watchCommand(id: string, opts: { interval: string }): Promise<number> {
  const every = Math.max(200, Number(opts.interval) * 1000 || 1000);
  return withClient(async (client) => {
    let last = '';
    for (;;) {
      const { status, progress } = await fetchStatus(client, id);
      const text = renderStatus(status, progress);
      if (text !== last) {
        print(`\n${new Date().toISOString()}\n${text}`);
        last = text;
      }
      if (finalStates.includes(status.state)) return status.state === 'succeeded' ? 0 : 1;
      if (status.state === 'awaiting-approval' || status.state === 'awaiting-decision') {
        print(`\nwaiting for a person: ${status.reason ?? status.state}`);
        return 0;
      }
      await sleep(every);
    }
  });
}
