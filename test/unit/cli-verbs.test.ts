import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerVerbs, verbModule, verbModules } from '../../src/cli/verbs.js';

const names = (program: Command) => program.commands.map((c) => c.name());

describe('the CLI loads the module of the verb it runs', () => {
  it('names every verb each module registers, with that module', async () => {
    const seen: string[] = [];
    for (const load of verbModules) {
      const program = new Command();
      (await load())(program);
      for (const verb of names(program)) {
        expect(verbModule[verb], `verbs.ts has no entry for ${verb}`).toBe(load);
        seen.push(verb);
      }
    }
    expect(seen.sort()).toEqual(Object.keys(verbModule).sort());
  });

  it("registers one verb's module when a verb is named, and all of them for help or an unknown verb", async () => {
    const status = new Command();
    await registerVerbs(status, ['status', 'r-1', '-o', 'json']);
    expect(names(status)).toEqual(['status']);
    const approve = new Command();
    await registerVerbs(approve, ['approve', 'r-1', '--phase', 'wave-1']);
    expect(names(approve)).toContain('pause');
    expect(names(approve)).not.toContain('status');
    for (const args of [[], ['--help'], ['help', 'status'], ['stauts', 'r-1'], ['constructor']]) {
      const all = new Command();
      await registerVerbs(all, args);
      expect(names(all).sort()).toEqual(Object.keys(verbModule).sort());
    }
  });
});
