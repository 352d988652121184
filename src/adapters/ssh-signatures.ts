import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approvalNamespace } from '../domain/approvals.js';
import type { VerifyApprovalInput } from '../activities/contracts.js';
import type { SourceFiles } from './source.js';

/**
 * Verifies an approval's SSH signature on the worker, as git verifies signed commits: `ssh-keygen -Y
 * verify` against the allowed-signers file of the pinned release source. Answers whether it holds, and
 * what ssh-keygen said; never throws for a bad signature (the rollout refuses the approval with the reason).
 */
export function createApprovalActivities(deps: { files: SourceFiles; sshKeygen?: string }) {
  return {
    async verifyApproval(input: VerifyApprovalInput): Promise<{ valid: boolean; detail: string }> {
      const signers = await deps.files.path(input.source, input.allowedSigners);
      const dir = await mkdtemp(join(tmpdir(), 'approval-'));
      try {
        const sig = join(dir, 'approval.sig');
        await writeFile(sig, input.signature);
        const args = ['-Y', 'verify', '-f', signers, '-I', input.principal, '-n', approvalNamespace, '-s', sig];
        return await new Promise((resolve, reject) => {
          const child = execFile(deps.sshKeygen ?? 'ssh-keygen', args, (err, stdout, stderr) => {
            const detail = `${stdout}${stderr}`.trim().split('\n').slice(-1)[0] ?? '';
            if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
              reject(new Error(`cannot run ssh-keygen to verify approvals: ${err.message}`));
            } else resolve({ valid: !err, detail });
          });
          child.stdin?.end(input.message);
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
