import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { heartbeating, withHeartbeats } from '../../src/activities/progress';

describe('heartbeats', () => {
  it('continue through silent stretches of a step (index builds after the last byte, fsync, counts)', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d) => beats.push(d));
    const step = heartbeating(async () => {
      let bytes = 0;
      await withHeartbeats(() => ({ step: 'verify', bytes }), new Promise<void>((r) => setTimeout(() => ((bytes = 42), r()), 1200)));
      await new Promise((r) => setTimeout(r, 2500)); // no progress at all: psql building indexes
      return 'done';
    });
    expect(await env.run(step)).toBe('done');
    const afterStream = beats.slice(-2);
    expect(beats.length).toBeGreaterThanOrEqual(4);
    expect(afterStream).toEqual([
      { step: 'verify', bytes: 42 },
      { step: 'verify', bytes: 42 },
    ]); // the last progress, repeated
  });

  it('a work promise that rejects at once is handled, not left unhandled', async () => {
    const env = new MockActivityEnvironment();
    const step = heartbeating(async () => withHeartbeats(() => ({}), Promise.reject(new Error('pg_dump not found'))));
    await expect(env.run(step)).rejects.toThrow('pg_dump not found');
  });
});
