/** Writes schemas/rollout-plan.schema.json from the zod schema, for editors (`npm run schema`). */
import { writeFileSync } from 'node:fs';
import { planJsonSchema } from '../src/plan/json-schema.js';

writeFileSync(new URL('../schemas/rollout-plan.schema.json', import.meta.url), planJsonSchema());
console.error('wrote schemas/rollout-plan.schema.json');
