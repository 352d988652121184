import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { formatPath, PlanError, type PlanIssue } from './errors.js';
import { RolloutPlan } from './schema.js';
import { semanticIssues } from './validate.js';

/**
 * Parses and validates a plan's YAML text. Throws PlanError listing every problem, each with its path
 * and, where the YAML parser knows it, line and column. `file` only labels the messages.
 */
export function parsePlan(text: string, file: string): RolloutPlan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PlanError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '', message: e.message.split('\n')[0] ?? e.message, line: pos?.line, col: pos?.col };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // e.g. the yaml library's guard against alias bombs ("billion laughs")
    throw new PlanError(file, [{ path: '', message: (err as Error).message }]);
  }
  const result = RolloutPlan.safeParse(data);
  if (!result.success) {
    throw new PlanError(
      file,
      result.error.issues.flatMap((i) => zodIssues(i, doc, lines)),
    );
  }
  const semantic = semanticIssues(result.data);
  if (semantic.length > 0) {
    throw new PlanError(
      file,
      semantic.map((i) => ({ ...i, ...locate(doc, lines, pathOf(i.path)) })),
    );
  }
  return result.data;
}

function zodIssues(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter): PlanIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return {
        path: formatPath(path),
        message: 'unknown key (check its spelling and level)',
        ...locate(doc, lines, path, true),
      };
    });
  }
  let message = issue.message;
  if (issue.code === 'invalid_type') {
    const got = valueAt(doc, issue.path);
    if (got === undefined) message = 'required';
    else if (issue.expected === 'string' && (typeof got === 'number' || typeof got === 'boolean')) {
      message = `expected a string, got ${typeof got} ${got} (quote it: '${got}')`;
    }
  }
  return [{ path: formatPath(issue.path), message, ...locate(doc, lines, issue.path) }];
}

function valueAt(doc: Document, path: readonly PropertyKey[]): unknown {
  const node = doc.getIn(
    path.map((k) => (typeof k === 'symbol' ? String(k) : k)),
    false,
  );
  return isScalar(node) ? node.value : node;
}

/** Line and column of the node at `path`, or of its nearest existing ancestor. */
function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  atKey = false,
): { line?: number; col?: number } {
  for (let n = path.length; n >= 0; n--) {
    const prefix = path.slice(0, n).map((k) => (typeof k === 'symbol' ? String(k) : k));
    let offset: number | undefined;
    if (atKey && n === path.length && n > 0) {
      const parent = doc.getIn(prefix.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === prefix[prefix.length - 1]);
        if (pair && isNode(pair.key)) offset = pair.key.range?.[0];
      }
    } else {
      const node = n === 0 ? doc.contents : doc.getIn(prefix, true);
      if (isNode(node)) offset = node.range?.[0];
    }
    if (offset !== undefined) {
      const { line, col } = lines.linePos(offset);
      return { line, col };
    }
  }
  return {};
}

/** Turns "spec.phases[2].maxParallel" back into ['spec', 'phases', 2, 'maxParallel']. */
function pathOf(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] as string)));
}
