/**
 * The codec endpoint for people's tools: the Temporal Web UI (its codec endpoint setting, or the dev
 * server's `--ui-codec-endpoint`) and the temporal CLI (`--codec-endpoint`) call it to show the payloads
 * the project compressed (common/payload-codec.ts) as the JSON they were. Temporal's codec server
 * protocol: `POST …/decode` and `POST …/encode`, a `Payloads` message as protobuf JSON in and out (bytes as
 * base64); only the path's last segment counts.
 *
 * No credentials: it inflates what zlib deflated, which whoever holds a payload can do anyway, and the
 * payloads hold no secrets. Any origin may call it (the Web UI calls it from the browser, from wherever
 * the UI is served). Bodies are bounded, and so is what a payload may inflate to.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import { compressPayload, decompressPayload } from '../common/payload-codec.js';

/** A request body larger than this is refused: Temporal's own payloads are at most 2 MB each. */
const maxBody = 16 * 1024 * 1024;

/**
 * What one request's payloads may inflate to in all. Each is bounded on its own (payload-codec.ts), but a
 * body of many small zlib bombs would still make one request hold gigabytes.
 */
export const maxDecodedPerRequest = 128 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) throw new RangeError(`the body is over ${maxBody} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Encodes or decodes a codec request's body; an error names what is wrong with it. */
export function codecReply(op: 'encode' | 'decode', text: string): { payloads: JsonPayload[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TypeError('the body is not JSON: send {"payloads": [...]}');
  }
  const list = (parsed as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new TypeError('the body has no "payloads" list: send {"payloads": [...]}');
  const payloads = (list as JsonPayload[]).map(fromJson);
  if (op === 'encode') return { payloads: payloads.map((p) => toJson(compressPayload(p))) };
  let decoded = 0;
  return {
    payloads: payloads.map((p, i) => {
      const out = decompressPayload(p);
      decoded += out.data?.length ?? 0;
      if (decoded > maxDecodedPerRequest) {
        throw new RangeError(`the payloads up to #${i + 1} inflate to over ${maxDecodedPerRequest} bytes in all`);
      }
      return toJson(out);
    }),
  };
}

const cors = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'content-type, x-namespace, authorization',
  'access-control-max-age': '600',
};

/** Serves the codec on `host:port` (port 0: a free one); resolves once it listens. */
export async function startCodecServer(
  host: string,
  port: number,
): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const reply = (code: number, json: unknown) =>
      res.writeHead(code, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(json));
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    const op = new URL(req.url ?? '/', 'http://codec').pathname.split('/').pop();
    if (op !== 'encode' && op !== 'decode') return reply(404, { error: 'POST …/decode or …/encode' });
    if (req.method !== 'POST') return reply(405, { error: `POST …/${op}` });
    body(req).then(
      (text) => {
        try {
          reply(200, codecReply(op, text));
        } catch (err) {
          reply(400, { error: (err as Error).message });
        }
      },
      (err: unknown) => reply(413, { error: (err as Error).message }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `http://${shown}:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
