/**
 * Large payloads travel compressed. A rollout of thousands of clusters carries plans, status pages, lock
 * tables and fleet inputs of hundreds of kilobytes: JSON that repeats itself (cluster names, contexts,
 * versions, digests) and shrinks ten to twenty times under zlib. Temporal warns over 512 kB and refuses
 * over 2 MB, counted as the payloads go over the wire, after this codec: so the bounds hold for what is
 * stored, and histories (50 MB at most) stay small.
 *
 * Only payloads over `compressAbove` bytes are compressed: a rollout of tens of clusters keeps every
 * payload plain JSON, readable as it is in the Web UI and by `temporal workflow show`. A compressed one
 * reads there through the codec endpoint (`rollout codec-server`; the Web UI's and the temporal CLI's
 * `--codec-endpoint`).
 *
 * The format is the Go SDK's zlib codec's (the Payload, protobuf-encoded, zlib-deflated, under encoding
 * `binary/zlib`), so any codec server built on Go's `converter.NewZlibCodec` decodes it too. Compression is
 * not secrecy: the payloads hold no secrets by design (names only), and anyone holding a compressed payload
 * can inflate it; the codec endpoint needs no credentials for that reason.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

export const zlibEncoding = 'binary/zlib';

/** Payloads above this many bytes (encoded as they would be stored) are compressed. */
export const compressAbove = 64 * 1024;

/** What one compressed payload may inflate to at most: far above any real one, short of a zlib bomb. */
const maxInflated = 64 * 1024 * 1024;

// A CommonJS package: its default export, as Node's ESM loader gives it (it finds no named exports in it).
const ProtoPayload = proto.temporal.api.common.v1.Payload;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The payload's encoding metadata, as text. */
function encodingOf(p: Payload): string | undefined {
  const e = p.metadata?.['encoding'];
  return e ? decoder.decode(e) : undefined;
}

/** One payload compressed, when it is over the threshold and compressing makes it smaller. */
export function compressPayload(p: Payload, above = compressAbove): Payload {
  if (encodingOf(p) === zlibEncoding) return p;
  const bytes = ProtoPayload.encode(p).finish();
  if (bytes.length <= above) return p;
  const packed = deflateSync(bytes);
  if (packed.length >= bytes.length) return p;
  return { metadata: { encoding: encoder.encode(zlibEncoding) }, data: new Uint8Array(packed) };
}

/** One payload as it was before `compressPayload`; any other payload as it is. */
export function decompressPayload(p: Payload): Payload {
  if (encodingOf(p) !== zlibEncoding) return p;
  if (!p.data) throw new Error(`a payload with encoding ${zlibEncoding} has no data`);
  const decoded = ProtoPayload.decode(inflateSync(p.data, { maxOutputLength: maxInflated }));
  return { metadata: decoded.metadata ?? {}, data: decoded.data ?? new Uint8Array() };
}

/** The codec the worker, the CLI and every client of the project's workflows use. */
export class LargePayloadCodec implements PayloadCodec {
  constructor(private readonly above = compressAbove) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((p) => compressPayload(p, this.above)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map(decompressPayload));
  }
}

/** The data converter for clients and workers: JSON as the SDK writes it, large payloads compressed. */
export const dataConverter: DataConverter = { payloadCodecs: [new LargePayloadCodec()] };
