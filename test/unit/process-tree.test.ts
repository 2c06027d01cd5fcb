import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { descendantsOf, environOf, processesMatching, waitForDescendant } from '../support/process-tree';

describe('process-tree test helpers', () => {
  it('find grandchildren, read their environment, and see them go', async () => {
    const child = spawn('sh', ['-c', 'sleep 30 & wait'], { env: { PATH: process.env.PATH, MARKER: 'pgbw-process-tree-test' } });
    try {
      const sleeper = await waitForDescendant(process.pid, 'sleep');
      expect(sleeper.ppid).toBe(child.pid);
      expect(descendantsOf(child.pid!).map((p) => p.comm)).toEqual(['sleep']);
      expect(environOf(sleeper.pid)).toMatchObject({ PATH: process.env.PATH, MARKER: 'pgbw-process-tree-test' });
      expect(environOf(sleeper.pid)).not.toHaveProperty('HOME'); // only what it was given (sh adds PWD)
      expect(processesMatching(/^sleep 30$/).map((p) => p.pid)).toContain(sleeper.pid);
      process.kill(sleeper.pid, 'SIGKILL');
      await new Promise((r) => child.on('close', r));
      expect(descendantsOf(child.pid!)).toEqual([]);
      expect(environOf(sleeper.pid)).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
