/**
 * A release's values for one cluster, from the pinned source: the release's base values files, then the
 * cluster's overlay. Every deploy mechanism takes them alike; the digest of their merge is what the fleet
 * and idempotent upgrades compare.
 */
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { FailureType } from '../domain/failure-types.js';
import type { PinnedSource } from '../domain/types.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { mergeValues, valuesDigest } from '../adapters/helm.js';
import type { SourceFiles } from '../adapters/source.js';

/**
 * A release's values for one cluster from the pinned source: the files (base values, then the overlay)
 * as paths on this machine, and the digest of their merge, which is what Helm's user-supplied values of a
 * revision made from them digest to.
 */
export async function pinnedValues(
  files: SourceFiles,
  source: PinnedSource,
  release: Pick<ReleaseSpec, 'values'>,
  overlay?: string,
): Promise<{ paths: string[]; digest: string }> {
  const refs = [...release.values, ...(overlay ? [overlay] : [])];
  const paths = await Promise.all(refs.map((f) => files.path(source, f)));
  return { paths, digest: valuesDigest(mergeValues(await Promise.all(paths.map(readValues)))) };
}

export async function readValues(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `values file ${file} cannot be read on the worker: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      FailureType.ValuesFile,
    );
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `values file ${file} is not valid YAML: ${(err as Error).message}`,
      FailureType.ValuesFile,
    );
  }
}
