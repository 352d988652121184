/**
 * The Node flags `rollout-worker` runs with (its first line starts Node with them, and the engine
 * benchmark's worker runs with them too). `--max-semi-space-size=2` caps V8's young generation at 2 MiB
 * per semi-space (V8's default is 16) in every isolate of the process: the main thread and the SDK's
 * workflow threads, one per worker. With the default, each held tens of MiB of short-lived garbage
 * between collections at the peak of a 1,000-cluster rollout; capped, the worker's peak fell by about
 * 90 MiB, with no CPU cost the benchmark could see (docs/benchmarks.md). Set at runtime instead (with
 * `v8.setFlagsFromString`), it changed nothing: it must be on Node's command line.
 */
export const workerNodeFlags = ['--max-semi-space-size=2'];
