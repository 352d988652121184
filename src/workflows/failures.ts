/**
 * Reading Temporal failure chains inside workflows: what went wrong at the root, its type, and the details
 * a child workflow attached. Every workflow imports these from here, never from another workflow.
 */
import { ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';

/** The innermost message of a Temporal failure chain: what actually went wrong. */
export function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** The type of the first ApplicationFailure in a failure chain, if any (see `FailureType`). */
export function failureType(err: unknown): string | undefined {
  let e: unknown = err;
  while (e instanceof Error && e.cause && !(e instanceof ApplicationFailure)) e = e.cause;
  return e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
}

/** The details a child workflow attached to its ApplicationFailure, if any. */
export function failureDetails<T>(err: unknown): T | undefined {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.details?.[0] as T | undefined) : undefined;
}
