import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

/**
 * Histories recorded with earlier code replay through the current workflow code unchanged, so
 * runs in flight during an upgrade go on. (The history from before compress ran beside dump is
 * replayed in compress-while-dumping.test.ts.)
 */
describe('replaying recorded backup histories', () => {
  it('replays a run recorded with search attributes, summaries, progress signals and current details', async () => {
    // `temporal workflow show --output json` of a real run: upserts behind the patch, activity summaries, progress signals.
    const history = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/backup-history-observable.json'), 'utf8'));
    const types = (history.events as Array<{ eventType: string }>).map((e) => e.eventType);
    expect(types.filter((t) => t === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES').length).toBeGreaterThan(0);
    expect(types.filter((t) => t === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED').length).toBeGreaterThan(0);
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, 'recorded-observable-backup');
  });
});
