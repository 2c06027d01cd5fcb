import { defaultPayloadConverter } from '@temporalio/common';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startBackup, startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';
import { lockTable, waitFor } from './support/faults';

/**
 * The Temporal Web UI (2.42, served by the global setup's dev server) in a real, headless
 * Chromium: what an operator sees of a completed backup, a failed one and one in progress.
 * Debian's chromium package, driven by playwright-core; no browser is downloaded.
 */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const SHOTS = path.resolve(__dirname, '..', 'test-output');
const UI_TIMEOUT = 45_000;
const STEPS = ['dump', 'compress', 'stat', 'notify'] as const;

if (!HAVE_CHROMIUM) console.warn(`web-ui.test.ts skipped: ${CHROMIUM} is absent (apt-get install chromium)`);

describe.skipIf(!HAVE_CHROMIUM)(`the Temporal Web UI in a real browser (${CHROMIUM}; skipped when it is absent)`, () => {
  let browser: Browser;
  let uiUrl: string;
  let source: { name: string; url: string };
  let worker: TestWorker;

  beforeAll(async () => {
    uiUrl = inject('temporalUiUrl');
    if (!uiUrl) throw new Error('the global setup started no Web UI (temporalUiUrl is empty)');
    fs.mkdirSync(SHOTS, { recursive: true });
    [browser, source] = await Promise.all([
      chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
      freshDemoDatabase('webui'),
    ]);
    worker = await startTestWorker({ DATABASE_URL: source.url });
  });
  afterAll(async () => {
    await worker?.stop();
    await browser?.close();
  });

  /** Opens a run the way a person pastes a link: /namespaces/default/workflows/<id>. */
  async function openRun(handle: WorkflowHandle, shot: { file: string; height: number }, look: (page: Page) => Promise<void>): Promise<void> {
    // Tall enough that what the test looks at fits one screenshot (the UI scrolls inside its own panes).
    const context = await browser.newContext({ viewport: { width: 1400, height: shot.height } });
    const page = await context.newPage();
    try {
      await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`);
      // The UI resolves the latest run and shows its event history.
      const runId = (await handle.describe()).runId;
      await page.waitForURL((url) => url.pathname.endsWith(`/workflows/${encodeURIComponent(handle.workflowId)}/${runId}/history`), { timeout: UI_TIMEOUT });
      await page.getByText(handle.workflowId, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
      await page.getByText('Event History', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
      await look(page);
    } finally {
      // Taken even when an assertion failed: the picture shows what the UI did show.
      await page.screenshot({ path: path.join(SHOTS, shot.file) }).catch(() => undefined);
      await context.close();
    }
  }

  /** The "Compact" history view: one row per activity; clicking it expands its scheduled/started/closed events. */
  async function expandActivity(page: Page, activityType: string): Promise<Locator> {
    const summary = page
      .getByRole('row')
      .filter({ hasText: 'Activity Type' })
      .filter({ has: page.getByText(activityType, { exact: true }) })
      .filter({ hasNotText: 'Activity Task Scheduled' })
      .first();
    await summary.waitFor({ timeout: UI_TIMEOUT });
    await summary.click();
    const expanded = page
      .getByRole('row')
      .filter({ hasText: 'Activity Task Scheduled' })
      .filter({ has: page.getByText(activityType, { exact: true }) })
      .first();
    await expanded.waitFor({ timeout: UI_TIMEOUT });
    return expanded;
  }

  async function textOf(locator: Locator): Promise<string> {
    return (await locator.allInnerTexts()).join('\n');
  }

  async function compactView(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Compact', exact: true }).click();
  }

  it('shows a completed backup: dump, compress, stat and notify each ActivityTaskCompleted', async () => {
    const handle = await startBackup(worker, 'production');
    await handle.result();

    // The ids of the ActivityTaskCompleted events, from the history itself, to find them on the page.
    const events = (await handle.fetchHistory()).events ?? [];
    const typeOfScheduled = new Map(
      events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!]),
    );
    const completedId = new Map(
      events
        .filter((e) => e.activityTaskCompletedEventAttributes)
        .map((e) => [typeOfScheduled.get(String(e.activityTaskCompletedEventAttributes!.scheduledEventId)), String(e.eventId)]),
    );
    // Other steps may come and go (e.g. a verify step); these four are the backup's backbone.
    expect([...completedId.keys()]).toEqual(expect.arrayContaining([...STEPS]));
    const completedEvents = events.filter((e) => e.activityTaskCompletedEventAttributes).length;

    await openRun(handle, { file: 'web-ui-completed.png', height: 2900 }, async (page) => {
      await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
      await compactView(page);
      for (const step of STEPS) {
        const expanded = await expandActivity(page, step);
        await expect
          .poll(() => textOf(expanded), { timeout: UI_TIMEOUT, interval: 500 })
          .toMatch(new RegExp(`(^|\\s)${completedId.get(step)}\\s+Activity Task Completed`));
        expect(await textOf(expanded)).not.toMatch(/Activity Task (Failed|Timed Out)/);
      }
      // The result panel shows what was written.
      const result = await handle.result();
      await page.getByText(result.fileName).first().waitFor({ timeout: UI_TIMEOUT });
      // The full list ("All"), one line per event, for the screenshot: every ActivityTaskCompleted of the history.
      await page.getByRole('button', { name: 'All', exact: true }).click();
      const completedRows = page.getByRole('row').filter({ has: page.getByText('Activity Task Completed', { exact: true }) });
      await expect.poll(() => completedRows.count(), { timeout: UI_TIMEOUT, interval: 500 }).toBe(completedEvents);
    });
  });

  it('shows a failed backup: the pg_dump error, after three attempts', async () => {
    // Without the verification session (the run's first connection otherwise), pg_dump meets the dead server itself.
    const down = await startTestWorker({ DATABASE_URL: 'postgresql://postgres:pw@127.0.0.1:1/nowhere', BACKUP_RETRY_INTERVAL: '1s', BACKUP_VERIFY: 'false' });
    try {
      const handle = await startBackup(down, 'production');
      expect(await handle.result().catch((err) => err)).toBeInstanceOf(WorkflowFailedError);

      await openRun(handle, { file: 'web-ui-failed.png', height: 2600 }, async (page) => {
        await page.getByText('Failed', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
        // The failure panel at the top (the run's failure, with pg_dump's own words as its cause).
        await page
          .getByText(/pg_dump failed \(exit code 1\)/)
          .first()
          .waitFor({ timeout: UI_TIMEOUT });
        await expect.poll(() => textOf(page.locator('body')), { timeout: UI_TIMEOUT }).toMatch(/Activity task failed/);
        // The dump step in the history: third attempt, with the message, closed by ActivityTaskFailed.
        await compactView(page);
        const dumpRow = page
          .getByRole('row')
          .filter({ hasText: 'Activity Type' })
          .filter({ has: page.getByText('dump', { exact: true }) })
          .first();
        await expect
          .poll(() => textOf(dumpRow), { timeout: UI_TIMEOUT, interval: 500 })
          .toMatch(
            /Attempt\s+3[\s\S]*Failure Message\s+pg_dump failed \(exit code 1\): pg_dump: error: connection to server at "127\.0\.0\.1", port 1 failed: Connection refused/,
          );
        const expanded = await expandActivity(page, 'dump');
        await expect.poll(() => textOf(expanded), { timeout: UI_TIMEOUT, interval: 500 }).toMatch(/Activity Task Failed/);
      });
    } finally {
      await down.stop();
    }
  });

  it('shows a running dump under Pending Activities, with its heartbeat progress', async () => {
    // pg_dump connects, then waits for this lock: the dump stays running, heartbeating, until released.
    const lock = await lockTable(source.url, 'orders');
    let handle: WorkflowHandle | undefined;
    try {
      handle = await startBackup(worker, 'production');
      // The first heartbeat (sent as the step starts) has no byte count yet; the page shows
      // what the server had when it loaded, so wait for the progress details first.
      await waitFor('the dump to report its byte count', async () => {
        const pending = (await handle!.describe()).raw.pendingActivities ?? [];
        return pending.some(
          (a) =>
            a.activityType?.name === 'dump' &&
            (a.heartbeatDetails?.payloads ?? []).some((p) => (defaultPayloadConverter.fromPayload(p) as { bytes?: number }).bytes !== undefined),
        );
      });
      await openRun(handle, { file: 'web-ui-pending-heartbeat.png', height: 800 }, async (page) => {
        await page.getByText('Running', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
        await page.getByRole('tab', { name: /Pending Activities/ }).click();
        await page.waitForURL(/\/pending-activities$/, { timeout: UI_TIMEOUT });
        await page.getByText('dump', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
        await expect
          .poll(() => textOf(page.locator('body')), { timeout: UI_TIMEOUT, interval: 500 })
          .toMatch(/Heartbeat[\s\S]*"step":\s*"dump"[\s\S]*"bytes":\s*\d+/);
      });
    } finally {
      await lock.release();
    }
    await handle?.result();
  });
});
