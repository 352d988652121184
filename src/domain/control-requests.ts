import { z } from 'zod';

/**
 * The shape of each control update's request, checked first by its validator: a request sent by hand
 * (`temporal workflow update execute --name approve --input '{"phase":"wave-1"}'`) that lacks a field or
 * has one of the wrong type is refused with what to send, never with a TypeError from deeper down.
 */
const who = z.string({ error: 'a string: who acts' });
const comment = z.string({ error: 'a string' }).optional();

const shapes = {
  approve: z.object({
    phase: z.string({ error: 'a string: the phase to approve' }),
    by: who,
    comment,
    digest: z.string({ error: "a string: the diff's digest" }).optional(),
    signature: z.string({ error: 'a string' }).optional(),
    signedAt: z.string({ error: 'a string' }).optional(),
  }),
  pause: z.object({ by: who, comment }),
  resume: z.object({ by: who, comment }),
  abort: z.object({ by: who, reason: z.string({ error: 'a string: why' }), comment }),
  rollback: z.object({ by: who, scope: z.enum(['phase', 'all'], { error: '"phase" or "all"' }), comment }),
  retry: z.object({ by: who, cluster: z.string({ error: 'a string: the cluster' }), comment }),
  skip: z.object({ by: who, cluster: z.string({ error: 'a string: the cluster' }), comment }),
  accept: z.object({ by: who, cluster: z.string({ error: 'a string: the cluster' }), comment }),
  'override-window': z.object({ by: who, window: z.string({ error: 'a string: the window' }), comment }),
} as const;

/** What each update takes, as a person would type it. */
const examples: Record<keyof typeof shapes, string> = {
  approve: '{"phase": "wave-1", "by": "alice", "comment": "..."}',
  pause: '{"by": "alice"}',
  resume: '{"by": "alice"}',
  abort: '{"by": "alice", "reason": "..."}',
  rollback: '{"by": "alice", "scope": "phase"}',
  retry: '{"by": "alice", "cluster": "lab-2"}',
  skip: '{"by": "alice", "cluster": "lab-2"}',
  accept: '{"by": "alice", "cluster": "lab-2", "comment": "..."}',
  'override-window': '{"by": "alice", "window": "business-hours", "comment": "..."}',
};

export type ControlName = keyof typeof shapes;

/** Why `req` is not a request `update` takes, naming each field that is wrong and what to send; else undefined. */
export function requestProblem(update: ControlName, req: unknown): string | undefined {
  const parsed = shapes[update].safeParse(req);
  if (parsed.success) return undefined;
  const fields = parsed.error.issues.map((i) => {
    const field = i.path.join('.') || 'the request (an object)';
    const key = i.path[0];
    const given = typeof req === 'object' && req !== null && key !== undefined && key in req;
    const missing = i.code === 'invalid_type' && !given;
    return `${field} ${missing ? 'is missing' : 'is wrong'} (${i.message})`;
  });
  return `${update} takes ${examples[update]}: ${fields.join('; ')}`;
}
