/**
 * The workflow's clock. Inside a workflow, Date is Temporal's deterministic time (the time of the
 * current workflow task), so this is replay-safe; naming it makes that intent visible.
 */
export function nowIso(): string {
  return new Date().toISOString();
}

export function nowMs(): number {
  return new Date().getTime();
}
