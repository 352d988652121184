import type { Command } from 'commander';
import { indexedType, rolloutSearchAttributes } from '../common/search-attributes.js';
import { CliError, exitCodes, withClient } from './shared.js';
import { action, outputOption, type Outcome } from './verb.js';

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
 * Returns once the server accepts the new attributes in queries (its caches take some seconds), so a
 * `start` right after it is not refused.
 */
export async function setupCommand(): Promise<Outcome> {
  return withClient(async (client, config) => {
    const operator = client.connection.operatorService;
    const namespace = config.namespace;
    const listed = await operator.listSearchAttributes({ namespace }).catch((err: unknown) => {
      throw new CliError(`cannot read the search attributes of namespace ${namespace}: ${(err as Error).message}`);
    });
    const existing = listed.customAttributes ?? {};
    const wrong = rolloutSearchAttributes.filter(
      (k) => k.name in existing && Number(existing[k.name]) !== indexedType(k).value,
    );
    if (wrong.length > 0) {
      throw new CliError(
        `namespace ${namespace} has ${wrong.map((k) => `${k.name} with another type than ${indexedType(k).name}`).join(', ')}: remove or rename them, then run rollout setup again`,
        exitCodes.usage,
      );
    }
    const missingKeys = rolloutSearchAttributes.filter((k) => !(k.name in existing));
    const missing = missingKeys.map((k) => k.name);
    if (missing.length > 0) {
      await operator
        .addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(missingKeys.map((k) => [k.name, indexedType(k).value])),
        })
        .catch((err: unknown) => {
          throw new CliError(
            `namespace ${namespace} refused the search attributes ${missing.join(', ')}: ${(err as Error).message}` +
              ' (on Temporal Cloud, add them in the namespace settings with the types `rollout setup` names)',
          );
        });
    }
    // A server takes new attributes into its frontends' caches some seconds later; until then a start
    // that sets them is refused. Return once a query that uses them is accepted, so `start` may follow.
    if (missing.length > 0) await usable(client.connection.workflowService, namespace, missing);
    const present = rolloutSearchAttributes.map((k) => k.name).filter((n) => !missing.includes(n));
    const text = [
      missing.length > 0
        ? `namespace ${namespace}: registered ${missingKeys.map((k) => `${k.name} (${indexedType(k).name})`).join(', ')}`
        : `namespace ${namespace}: nothing to do`,
      ...(present.length > 0 ? [`already there: ${present.join(', ')}`] : []),
    ].join('\n');
    return { text, data: { namespace, registered: missing, present } };
  });
}

/** Waits (at most 2 minutes) until the namespace accepts a visibility query on every one of `names`. */
async function usable(
  service: { countWorkflowExecutions: (r: { namespace: string; query: string }) => Promise<unknown> },
  namespace: string,
  names: string[],
): Promise<void> {
  const query = names.map((n) => `${n} = 'setup'`).join(' AND ');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await service.countWorkflowExecutions({ namespace, query });
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new CliError(
          `registered ${names.join(', ')} on namespace ${namespace}, but after 2 minutes the server still refuses them in a query (${(err as Error).message}); run rollout setup again later`,
        );
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
