import { setMaxListeners } from 'node:events';
/**
 * Failures that are not a verdict about the release: the cluster (or a repository) did not answer.
 * Activities retry these with capped backoff until their step's deadline (`retryUnreachable`), so a short
 * outage delays a rollout instead of failing it.
 */
export class Unreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unreachable';
  }
}

/** `work`'s outcome, or `timedOut()`'s error once `ms` have passed without one; the timer never outlives it. */
export async function withTimeout<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timedOut()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Error codes Node and its HTTP clients give when a peer cannot be reached or drops the connection. */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

const networkText =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|EPIPE|socket hang up|network timeout|fetch failed|premature close/i;

/** True when the error (or any cause in its chain) says the peer could not be reached or went away. */
export function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return true;
    if (e instanceof Error && networkText.test(e.message)) return true;
  }
  return false;
}

/** HTTP statuses that mean "not now" rather than "no": throttling and server-side failures. */
export function isTransientStatus(code: number): boolean {
  return code === 429 || code === 408 || code >= 500;
}

/**
 * Calls `fn` when `signal` aborts; returns what stops listening. One activity may run many commands and
 * waits at once (a diff of many clusters renders and reads several releases side by side), each listening
 * to the activity's one cancellation signal: more than Node's default of 10 listeners is expected there,
 * not a leak, and each is removed when its command ends.
 */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => undefined;
  setMaxListeners(1000, signal);
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
