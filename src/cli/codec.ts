import type { Command } from 'commander';
import { startCodecServer } from '../client/codec-server.js';
import { CliError, exitCodes, print } from './shared.js';
import { action } from './verb.js';

export function registerCodec(program: Command): void {
  program
    .command('codec-server')
    .description(
      "serve the codec endpoint that shows a large rollout's compressed payloads as JSON in the Temporal Web UI and the temporal CLI (--codec-endpoint)",
    )
    .option('--listen <host:port>', 'where to listen', '127.0.0.1:8089')
    .action(action(codecServerCommand));
}

/** "HOST:PORT" ("[::1]:PORT" for IPv6); an error naming the option otherwise. */
export function listenAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new CliError(`--listen is "${value}": give HOST:PORT, such as 127.0.0.1:8089`, exitCodes.usage);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * `rollout codec-server`: serves the codec until interrupted, printing the endpoint to give the Web UI
 * (its settings' codec endpoint, or the dev server's --ui-codec-endpoint) and the temporal CLI.
 */
async function codecServerCommand(opts: { listen: string }): Promise<void> {
  const { host, port } = listenAddress(opts.listen);
  const codec = await startCodecServer(host, port).catch((err: unknown) => {
    throw new CliError(`cannot listen on ${opts.listen}: ${(err as Error).message}`);
  });
  print(`codec endpoint: ${codec.url} (temporal workflow show --codec-endpoint ${codec.url} ...)`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  await codec.close();
}
