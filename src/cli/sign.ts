import { execFile } from 'node:child_process';
import { Option } from 'commander';
import { approvalNamespace } from '../domain/approvals.js';
import { CliError, exitCodes } from './shared.js';
import { envValue } from '../common/env.js';

/** `--sign-with KEY` (or ROLLOUT_SIGNING_KEY): the SSH private key that signs an approval or a start. */
export const signWithOption = (what: string) =>
  new Option('--sign-with <key>', `sign the ${what} with this SSH private key (ssh-keygen -Y sign)`).env(
    'ROLLOUT_SIGNING_KEY',
  );

/**
 * Signs a text with a person's SSH key, as git signs commits: `ssh-keygen -Y sign` in the namespace of
 * phased-rollout's signatures. The key never leaves this machine; a worker verifies the signature.
 */
export function sshSign(key: string, message: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      envValue('ROLLOUT_SSH_KEYGEN') ?? 'ssh-keygen',
      ['-Y', 'sign', '-f', key, '-n', approvalNamespace, '-q'],
      (err, stdout, stderr) =>
        err
          ? reject(new CliError(`cannot sign with ${key}: ${(stderr || err.message).trim()}`, exitCodes.usage))
          : resolve(stdout),
    );
    child.stdin?.end(message);
  });
}

/** Signs the text `text(signedAt)` makes for now: the signature and the time it names. */
export async function signNow(
  key: string,
  text: (signedAt: string) => string,
): Promise<{ signature: string; signedAt: string }> {
  const signedAt = new Date().toISOString();
  return { signature: await sshSign(key, text(signedAt)), signedAt };
}
