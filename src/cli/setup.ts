import type { Command } from 'commander';
import { rolloutSearchAttributes } from '../common/search-attributes.js';
import { CliError, exitCodes, withClient } from './shared.js';
import { action, outputOption, type Outcome } from './verb.js';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, as the operator service takes it. */
const Keyword = 2;

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('register on the Temporal namespace what rollouts need (their search attributes); idempotent')
    .addOption(outputOption())
    .action(action(setupCommand));
}

/**
 * `rollout setup`: registers the rollout's search attributes on the namespace (a self-hosted server; the
 * dev server `npm run dev` starts has them), saying which it added and which were there. Running it again
 * changes nothing. An attribute registered with another type is refused (exit 2): rename or remove it.
 */
export async function setupCommand(): Promise<Outcome> {
  return withClient(async (client, config) => {
    const operator = client.connection.operatorService;
    const namespace = config.namespace;
    const listed = await operator.listSearchAttributes({ namespace }).catch((err: unknown) => {
      throw new CliError(`cannot read the search attributes of namespace ${namespace}: ${(err as Error).message}`);
    });
    const existing = listed.customAttributes ?? {};
    const wrong = rolloutSearchAttributes.filter((k) => k.name in existing && Number(existing[k.name]) !== Keyword);
    if (wrong.length > 0) {
      throw new CliError(
        `namespace ${namespace} has ${wrong.map((k) => k.name).join(', ')} with another type than Keyword: remove or rename them, then run rollout setup again`,
        exitCodes.usage,
      );
    }
    const missing = rolloutSearchAttributes.filter((k) => !(k.name in existing)).map((k) => k.name);
    if (missing.length > 0) {
      await operator
        .addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, Keyword])) })
        .catch((err: unknown) => {
          throw new CliError(
            `namespace ${namespace} refused the search attributes ${missing.join(', ')}: ${(err as Error).message}` +
              ' (on Temporal Cloud, add them as Keyword attributes in the namespace settings)',
          );
        });
    }
    const present = rolloutSearchAttributes.map((k) => k.name).filter((n) => !missing.includes(n));
    const text = [
      missing.length > 0
        ? `namespace ${namespace}: registered ${missing.join(', ')} (Keyword)`
        : `namespace ${namespace}: nothing to do`,
      ...(present.length > 0 ? [`already there: ${present.join(', ')}`] : []),
    ].join('\n');
    return { text, data: { namespace, registered: missing, present } };
  });
}
