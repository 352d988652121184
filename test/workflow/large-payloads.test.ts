/**
 * Large payloads travel compressed (common/payload-codec.ts): a rollout of 8,000 clusters, whose plan is
 * over Temporal's 512 kB warning line as JSON, is stored under it, runs, and reads back; the stock
 * temporal CLI shows it as the JSON it was through `rollout codec-server`'s endpoint. Small payloads stay
 * plain JSON, readable anywhere.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { codecReply, startCodecServer } from '../../src/client/codec-server.js';
import { compressAbove, compressPayload, decompressPayload, zlibEncoding } from '../../src/common/payload-codec.js';
import { ensureTool } from '../../src/tools/toolchain.js';
import { statusPageQuery } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

const run = promisify(execFile);
const json = (v: unknown): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(v)),
});
const encodingOf = (p: { metadata?: Record<string, Uint8Array | null> | null }) =>
  Buffer.from(p.metadata?.['encoding'] ?? new Uint8Array()).toString();

describe('the payload codec', () => {
  it('leaves small payloads as they are and compresses large ones in the Go SDK zlib codec format', () => {
    const small = json({ clusters: ['c1', 'c2'] });
    expect(compressPayload(small)).toBe(small);
    const big = json({ clusters: Array.from({ length: 20_000 }, (_, i) => ({ name: `c${i}`, context: `ctx-c${i}` })) });
    expect(big.data?.length).toBeGreaterThan(compressAbove);
    const packed = compressPayload(big);
    expect(encodingOf(packed)).toBe(zlibEncoding);
    expect(packed.data?.length).toBeLessThan((big.data?.length ?? 0) / 5);
    // What Go's converter.NewZlibCodec reads: the Payload message, protobuf-encoded, zlib-deflated.
    const inner = proto.temporal.api.common.v1.Payload.decode(inflateSync(packed.data as Uint8Array));
    expect(encodingOf(inner)).toBe('json/plain');
    expect(Buffer.from(inner.data).equals(Buffer.from(big.data as Uint8Array))).toBe(true);
    // Decoding gives back what was encoded; a payload not compressed passes as it is.
    const back = decompressPayload(packed);
    expect(Buffer.from(back.data as Uint8Array).equals(Buffer.from(big.data as Uint8Array))).toBe(true);
    expect(decompressPayload(small)).toBe(small);
    // Compressed twice is compressed once.
    expect(compressPayload(packed)).toBe(packed);
  });

  it('answers bad codec requests with what is wrong', () => {
    expect(() => codecReply('decode', 'not json')).toThrow(/not JSON/);
    expect(() => codecReply('decode', '{"items":[]}')).toThrow(/no "payloads" list/);
  });

  it('refuses a request whose payloads inflate past its bound in all, each one under its own', () => {
    // 40 MiB of zeros deflate to about 40 kB: four of them pass every bound but the request's.
    const bomb = compressPayload({ metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.alloc(40 << 20) });
    expect(bomb.data?.length).toBeLessThan(100_000);
    const asJson = {
      metadata: { encoding: Buffer.from(zlibEncoding).toString('base64') },
      data: Buffer.from(bomb.data as Uint8Array).toString('base64'),
    };
    expect(codecReply('decode', JSON.stringify({ payloads: [asJson] })).payloads).toHaveLength(1);
    expect(() => codecReply('decode', JSON.stringify({ payloads: Array(4).fill(asJson) }))).toThrow(
      /payloads up to #4 inflate to over 134217728 bytes in all/,
    );
  });
});

describe('a rollout of 8,000 clusters', () => {
  let env: TemporalTestEnv;
  beforeAll(async () => {
    env = await TemporalTestEnv.create();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('is stored under the warning line, runs, and reads back as JSON through the codec endpoint', async () => {
    const x = `big${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 8_000 }, (_, i) => `${x}-c${i + 1}`);
    const input = testInput([
      { name: 'canary', clusters: names.slice(0, 1), approval: 'required' },
      { name: 'wave', clusters: names.slice(1), maxParallel: 100 },
    ]);
    const plain = Buffer.byteLength(JSON.stringify(input));
    expect(plain).toBeGreaterThan(512 * 1024);
    await env.startWorker(new FakeFleet(names).activities());
    const handle = await env.start(input, `rollout-${x}`);
    try {
      // It took its 8,000 clusters and waits at the canary's gate.
      const status = await waitForStatus(handle, (s) => s.state === 'awaiting-approval', 60_000);
      expect(status.clusters).toHaveLength(8_000);
      const page = await handle.query(statusPageQuery, { phase: 'wave', offset: 7_500 });
      expect(page.total).toBe(7_999);
      expect(page.status.clusters.at(-1)?.name).toBe(`${x}-c8000`);

      // As stored: compressed, under the warning line.
      const { events } = await handle.fetchHistory();
      const started = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      expect(started && encodingOf(started)).toBe(zlibEncoding);
      expect(started?.data?.length).toBeLessThan(512 * 1024);
      expect(started?.data?.length).toBeLessThan(plain / 5);

      // The stock temporal CLI shows it compressed; through the codec endpoint, as the plan it was.
      const temporalCli = await ensureTool('temporal');
      type Shown = { metadata: Record<string, string>; data: string };
      const show = (...extra: string[]) =>
        run(
          temporalCli,
          ['workflow', 'show', '-w', handle.workflowId, '--address', inject('temporalAddress'), '-o', 'json', ...extra],
          { maxBuffer: 256 * 1024 * 1024 },
        ).then((r) => {
          const shown = JSON.parse(r.stdout) as {
            events: { workflowExecutionStartedEventAttributes: { input: { payloads: Shown[] } } }[];
          };
          const p = shown.events[0]?.workflowExecutionStartedEventAttributes.input.payloads[0] as Shown;
          const b64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64');
          return { encoding: b64(p.metadata['encoding']).toString(), data: b64(p.data) };
        });
      const raw = await show();
      expect(raw.encoding).toBe(zlibEncoding);
      expect(raw.data.toString('latin1')).not.toContain(`${x}-c8000`);
      const codec = await startCodecServer('127.0.0.1', 0);
      try {
        const decoded = await show('--codec-endpoint', codec.url);
        expect(decoded.encoding).toBe('json/plain');
        const plan = JSON.parse(decoded.data.toString()) as typeof input;
        expect(plan.plan.spec.clusters.at(-1)).toMatchObject({ name: `${x}-c8000`, context: `ctx-${x}-c8000` });
        expect(plan.plan.spec.clusters).toHaveLength(8_000);
      } finally {
        await codec.close();
      }
    } finally {
      await handle.terminate('test done');
    }
  });
});
