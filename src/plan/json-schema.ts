import { z } from 'zod';
import { RolloutPlan } from './schema.js';

/** The plan's JSON Schema (input side: defaults are optional), generated from the zod schema. */
export function planJsonSchema(): string {
  const schema = z.toJSONSchema(RolloutPlan, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'phased-rollout RolloutPlan' }, null, 2)}\n`;
}
