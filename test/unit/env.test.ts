import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environment, logLevel, workflowCacheSize } from '../../src/common/env.js';

const root = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('environment variables', () => {
  it("the README's table has a row for every variable the code reads, and none for another", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('### Environment'),
      readme.indexOf('\n## ', readme.indexOf('### Environment')),
    );
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]);
    expect(rows).toEqual(Object.keys(environment));
  });

  it('are read through env.ts only: no other product module reads one of them by name', () => {
    const names = Object.keys(environment).join('|');
    const read = new RegExp(`env\\[['"](${names})['"]\\](?!\\s*\\??=[^=])`);
    const readers = sources(join(root, 'src')).filter(
      (f) => !f.endsWith('common/env.ts') && read.test(readFileSync(f, 'utf8')),
    );
    expect(readers).toEqual([]);
    // The check itself finds a read.
    expect(read.test("const a = process.env['ROLLOUT_GIT'] ?? 'git';")).toBe(true);
  });

  it('a bad ROLLOUT_LOG_LEVEL or ROLLOUT_WORKFLOW_CACHE is an error naming the variable', () => {
    expect(logLevel({})).toBe('INFO');
    expect(logLevel({ ROLLOUT_LOG_LEVEL: 'WARN' })).toBe('WARN');
    expect(() => logLevel({ ROLLOUT_LOG_LEVEL: 'loud' })).toThrow(
      'ROLLOUT_LOG_LEVEL is "loud": set it to one of TRACE, DEBUG, INFO, WARN, ERROR',
    );
    expect(workflowCacheSize({})).toBeUndefined();
    expect(workflowCacheSize({ ROLLOUT_WORKFLOW_CACHE: '500' })).toBe(500);
    expect(() => workflowCacheSize({ ROLLOUT_WORKFLOW_CACHE: '1k' })).toThrow(
      'ROLLOUT_WORKFLOW_CACHE is "1k": set it to a whole number',
    );
  });
});
