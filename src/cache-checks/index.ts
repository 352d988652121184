/**
 * Every cache check, by its `type` in the plan (`spec.cache.check.type`). A new kind of check (an S3
 * object, a database row) is a file beside these, an entry here and a schema variant in plan/schema.ts.
 */
import type { CacheCheck, CacheCheckSpec } from './check.js';
import { http } from './http.js';
import { objectField } from './object-field.js';

type Checks = { [T in CacheCheckSpec['type']]: CacheCheck<Extract<CacheCheckSpec, { type: T }>> };

export const cacheChecks: Checks = { 'object-field': objectField, http };

/** The implementation of a check spec's type. */
export function cacheCheckFor<S extends CacheCheckSpec>(spec: S): CacheCheck<S> {
  return cacheChecks[spec.type] as unknown as CacheCheck<S>;
}

export type { CacheCheck, CacheCheckSpec, CheckScope, Observation } from './check.js';
