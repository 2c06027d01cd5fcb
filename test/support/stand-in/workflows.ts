import { condition, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';

export const finishSignal = defineSignal('finish');

/**
 * Stands in for the real `backupDatabase` in visibility: same workflow type, done in moments
 * (or when told, with `untilSignalled`), so a test can fill a namespace with hundreds of
 * completed "backups" and choose which closes last. Its result has the field the freshness
 * check reads.
 */
export async function backupDatabase(label: string, options: { untilSignalled?: boolean } = {}): Promise<{ fileName: string }> {
  let finished = !options.untilSignalled;
  setHandler(finishSignal, () => void (finished = true));
  await condition(() => finished);
  return { fileName: `${label}_${workflowInfo().workflowId}.sql.gz` };
}
