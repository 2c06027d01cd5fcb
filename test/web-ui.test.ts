import { defaultPayloadConverter } from '@temporalio/common';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backupRunMetadata } from '../src/schedule/run-now';
import { startBackup, startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';
import { lockTable, waitFor } from './support/faults';
import { startSlowLink } from './support/slow-link';

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

  /**
   * The workflow list as a person filters it (`?query=` is what the UI's filter bar writes),
   * with the backups' search attributes as columns (what the column chooser stores).
   */
  async function openList(query: string, shot: string, look: (page: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext({ viewport: { width: 2100, height: 600 } });
    const columns = [
      'Status',
      'Workflow ID',
      'PgBackupEnvironment',
      'PgBackupDatabase',
      'PgBackupTrigger',
      'PgBackupSizeBytes',
      'PgBackupVerified',
      'Start',
      'End',
    ];
    await context.addInitScript((labels) => {
      (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem(
        'namespace-workflow-table-columns',
        JSON.stringify({ default: labels.map((label, i) => ({ label, pinned: i < 2 })) }),
      );
    }, columns);
    const page = await context.newPage();
    try {
      await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      await look(page);
    } finally {
      await page.screenshot({ path: path.join(SHOTS, shot) }).catch(() => undefined);
      await context.close();
    }
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
        // The dump step in the history: its summary and third attempt in its row; expanded, pg_dump's message
        // (the Started event's Last Failure) and ActivityTaskFailed. (With a summary, the row itself shows no failure message.)
        await compactView(page);
        const dumpRow = page
          .getByRole('row')
          .filter({ hasText: 'Activity Type' })
          .filter({ has: page.getByText('dump', { exact: true }) })
          .first();
        await expect.poll(() => textOf(dumpRow), { timeout: UI_TIMEOUT, interval: 500 }).toMatch(/Summary\s+pg_dump of "production"[\s\S]*Attempt\s+3/);
        const expanded = await expandActivity(page, 'dump');
        await expect.poll(() => textOf(expanded), { timeout: UI_TIMEOUT, interval: 500 }).toMatch(/Activity Task Failed/);
        await expect
          .poll(() => textOf(page.locator('body')), { timeout: UI_TIMEOUT, interval: 500 })
          .toMatch(
            /Last Failure[\s\S]*"message": "pg_dump failed \(exit code 1\): pg_dump: error: connection to server at \\"127\.0\.0\.1\\", port 1 failed: Connection refused[\s\S]*Activity Task Failed/,
          );
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

  it('lists the backups of one label, filtered through ?query=, with their search attributes as columns', async () => {
    const label = `webui-${randomUUID().slice(0, 8)}`;
    const ok = await startBackup(worker, label);
    const result = await ok.result();
    const down = await startTestWorker({ DATABASE_URL: 'postgresql://postgres:pw@127.0.0.1:1/nowhere', BACKUP_MAX_ATTEMPTS: '1', BACKUP_VERIFY: 'false' });
    let failed: WorkflowHandle;
    try {
      failed = await startBackup(down, label);
      expect(await failed.result().catch((err) => err)).toBeInstanceOf(WorkflowFailedError);
    } finally {
      await down.stop();
    }
    const count = async (query: string) => (await worker.client.workflow.count(query)).count;
    await waitFor('visibility to have both runs closed', async () => (await count(`PgBackupEnvironment = '${label}' AND ExecutionStatus != 'Running'`)) === 2);

    await openList(`PgBackupEnvironment = '${label}'`, 'web-ui-list-by-label.png', async (page) => {
      const okRow = page.getByRole('row').filter({ hasText: ok.workflowId });
      await okRow.waitFor({ timeout: UI_TIMEOUT });
      await expect
        .poll(() => textOf(okRow), { timeout: UI_TIMEOUT, interval: 500 })
        .toMatch(new RegExp(`Completed[\\s\\S]*${ok.workflowId}\\s+${label}\\s+${source.name}\\s+manual\\s+${result.sizeBytes}\\s+true`));
      const failedRow = page.getByRole('row').filter({ hasText: failed.workflowId });
      await expect
        .poll(() => textOf(failedRow), { timeout: UI_TIMEOUT, interval: 500 })
        .toMatch(new RegExp(`Failed[\\s\\S]*${failed.workflowId}\\s+${label}\\s+manual`));
    });

    // The README's filter: this label's failed backups of the last seven days.
    const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
    await openList(`PgBackupEnvironment = '${label}' AND ExecutionStatus = 'Failed' AND StartTime > '${weekAgo}'`, 'web-ui-list-failed.png', async (page) => {
      await page.getByRole('row').filter({ hasText: failed.workflowId }).waitFor({ timeout: UI_TIMEOUT });
      expect(await page.getByRole('row').filter({ hasText: ok.workflowId }).count()).toBe(0);
    });
  });

  it("shows a running dump's percent and time left in the run's current details, under its summary", async () => {
    // A slow link between pg_dump and the server: a small database dumps as slowly as a big one, bytes flowing steadily.
    const slowSource = await freshDemoDatabase('webui_slow', 100_000);
    const url = new URL(slowSource.url);
    const link = await startSlowLink({ host: url.hostname, port: Number(url.port) }, 400 * 1024);
    url.port = String(link.port);
    const slow = await startTestWorker({ DATABASE_URL: url.toString(), BACKUP_PROGRESS_INTERVAL: '2s' });
    const label = `webui-eta-${randomUUID().slice(0, 8)}`;
    try {
      const handle = await slow.client.workflow.start('backupDatabase', {
        taskQueue: slow.config.taskQueue,
        workflowId: `backup-${label}-manual-${Date.now()}`,
        args: [label],
        ...backupRunMetadata(label, { database: slowSource.name, command: `pg-backup-workflow backup ${label}` }),
      });
      const details = async () => ((await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails ?? '';
      const progress = /dump \d+% · [\d.]+ [KMG]B of ~[\d.]+ [KMG]B · (under a minute|about \d+ min) left \(around \d\d:\d\d UTC\)/;
      await waitFor('the dump to report percent and time left', async () => progress.test(await details()), 90_000);
      expect(await details()).toMatch(new RegExp(`^\\*\\*${label}\\*\\* · database ${slowSource.name} · manual\\n\\n- ${progress.source}`));

      await openRun(handle, { file: 'web-ui-current-details.png', height: 800 }, async (page) => {
        await page.getByRole('tab', { name: /User Metadata/ }).click();
        await page.waitForURL(/\/user-metadata$/, { timeout: UI_TIMEOUT });
        await page.getByText('Current Details').first().waitFor({ timeout: UI_TIMEOUT });
        // Summary and current details are rendered as Markdown, each in a frame of its own.
        const framesText = async () =>
          (
            await Promise.all(
              page.frames().map((f) =>
                f
                  .locator('body')
                  .innerText()
                  .catch(() => ''),
              ),
            )
          ).join('\n');
        await expect.poll(framesText, { timeout: UI_TIMEOUT, interval: 500 }).toContain(`Backup of ${label} · database ${slowSource.name} · manual`);
        await expect.poll(framesText, { timeout: UI_TIMEOUT, interval: 500 }).toMatch(progress);
      });
      link.setRate(Infinity);
      expect((await handle.result()).verification).toMatchObject({ verified: true });
    } finally {
      link.setRate(Infinity);
      await slow.stop();
      await link.close();
    }
  });
});
