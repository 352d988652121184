/**
 * Exit codes: 0 done, 1 operation failed or rejected, 2 usage or validation error, 3 (`watch`) the rollout
 * waits for a person (an approval, a decision, a resume, the end of a freeze).
 */
export const exitCodes = { ok: 0, failed: 1, usage: 2, waiting: 3 } as const;

/** An error the CLI reports as one message and an exit code, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.failed,
  ) {
    super(message);
  }
}
