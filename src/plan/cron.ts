import { Cron } from 'croner';

/** Why a cron expression does not parse, or undefined when it does. */
export function cronProblem(expression: string): string | undefined {
  try {
    new Cron(expression, { paused: true });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Why a time zone is not one the runtime knows (IANA names), or undefined when it is. */
export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
