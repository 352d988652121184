/**
 * The Node flags `rollout-worker` runs with (its first line starts Node with them, and the engine
 * benchmark's worker runs with them too). They apply to every isolate of the process: the main thread
 * and the SDK's workflow threads, one per worker.
 *
 * - `--max-semi-space-size=2` caps V8's young generation at 2 MiB per semi-space (V8's default is 16).
 *   With the default, each isolate held tens of MiB of short-lived garbage between collections at the
 *   peak of a 1,000-cluster rollout; capped, the worker's peak fell by about 90 MiB.
 * - `--heap-growing-percent=50` lets the old generation grow to 1.5 times what the last full collection
 *   kept before the next one (V8 chooses up to 4 times when collections are cheap). With 500 clusters in
 *   flight the workflow thread keeps about 100 MiB alive, and let its heap grow to 300 MiB of mostly
 *   garbage before collecting: the worker peaked at 612 MiB; with the flag, at about 350, for the same
 *   wall time (docs/benchmarks.md). It bounds no heap: a larger live set still fits, it is only
 *   collected sooner.
 *
 * Set at runtime instead (with `v8.setFlagsFromString`), they change nothing: they must be on Node's
 * command line.
 */
export const workerNodeFlags = ['--max-semi-space-size=2', '--heap-growing-percent=50'];
