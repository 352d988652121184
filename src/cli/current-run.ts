import type { Client } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';

/**
 * How long a query of a rollout waits for its answer before the CLI looks whether the rollout continued
 * as a new run meanwhile, and how often it looks again.
 */
export const runChangeCheckMs = 2_000;

/**
 * Asks the rollout's current run `query`, answered by the run that is current when the answer comes.
 *
 * A query that reaches a run while its last workflow task runs (the one that continues it as new) waits
 * for that task, and Temporal then sends it to the run, now closed: no worker holds a closed run, so one
 * replays its whole history to answer. At 10,000 clusters a run's history is 9,000 events, and reads sent
 * at that moment took 14 and 20 s under load. So while the answer has not come, the CLI looks every
 * `runChangeCheckMs` for a newer run, asks it too, and takes the first answer.
 */
export async function queryCurrentRun<R, A extends unknown[]>(
  client: Client,
  workflowId: string,
  /** The run current before the query is sent (a describe's), when the caller has it. */
  knownRunId: string | undefined,
  query: QueryDefinition<R, A>,
  ...args: A
): Promise<R> {
  const controller = new AbortController();
  const { signal } = controller;
  const describe = () =>
    client
      .withAbortSignal(signal, () => client.workflow.getHandle(workflowId).describe())
      .then(
        (d) => d.runId,
        () => undefined, // no answer here: the query's own outcome decides
      );
  const ask = (runId?: string) =>
    client.withAbortSignal(signal, () => client.workflow.getHandle(workflowId, runId).query(query, ...args));
  // Known before the query is sent, the run it reaches is this one or a later one.
  const runId = knownRunId ?? (await describe());
  const first = ask();
  const later = (async (): Promise<R> => {
    for (;;) {
      await pause(runChangeCheckMs, signal);
      if (signal.aborted) break;
      const now = await describe();
      if (signal.aborted) break;
      if (now && runId && now !== runId) return await ask(now);
    }
    return await new Promise<R>(() => undefined); // aborted: the race is decided already
  })();
  try {
    // The first answer decides; a newer run's failing (it closed too) leaves it to the first query.
    return await Promise.race([first, later.catch(() => first)]);
  } finally {
    controller.abort();
    first.catch(() => undefined);
    later.catch(() => undefined);
  }
}

/** A timer the abort ends early (then it resolves: the caller checks the signal). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
