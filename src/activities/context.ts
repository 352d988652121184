import { Context } from '@temporalio/activity';

/** The activity context when running as an activity; undefined when called directly (benchmarks, tests). */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Runs a long wait while heartbeating every 5 s, so a worker that dies is noticed within the heartbeat
 * timeout and cancellation reaches the activity. `details` go with each heartbeat.
 */
export async function heartbeating<T>(run: () => Promise<T>, details?: unknown): Promise<T> {
  const ctx = activityContext();
  const beat = ctx ? setInterval(() => ctx.heartbeat(details), 5_000) : undefined;
  try {
    return await run();
  } finally {
    if (beat) clearInterval(beat);
  }
}
