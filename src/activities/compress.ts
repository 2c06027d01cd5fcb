import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Context, log } from '@temporalio/activity';
import { createParallelGzip } from '../compression/parallel-gzip';
import type { WorkerConfig } from '../config';
import type { CompressInput, CompressOutput } from '../common/types';
import { exists, openPart, publishPart, removeQuietly } from './files';
import { throwIfCancelled, withHeartbeats } from './progress';

/** Large reads: fewer trips through the event loop; blocks are 1 MiB anyway. */
const READ_CHUNK = 1024 * 1024;

/**
 * `compress`: `<name>.sql` → `<name>.sql.gz`, streamed; the `.sql` is removed after. One standard
 * gzip member, compressed on every core (pigz-style blocks, see compression/parallel-gzip).
 */
export function makeCompress(config: WorkerConfig) {
  return async function compress({ sqlPath }: CompressInput): Promise<CompressOutput> {
    const gzPath = `${sqlPath}.gz`;
    const fileName = path.basename(gzPath);

    // A retry after the previous attempt published but could not report back: finish, don't redo.
    if (await exists(gzPath)) {
      await removeQuietly(sqlPath);
      const bytesOut = (await fs.stat(gzPath)).size;
      return { path: gzPath, fileName, bytesIn: 0, bytesOut };
    }

    const bytesIn = (await fs.stat(sqlPath)).size;
    const { partPath, handle } = await openPart(gzPath);
    const source = createReadStream(sqlPath, { highWaterMark: READ_CHUNK });
    let published = false;
    try {
      await withHeartbeats(
        () => ({ step: 'compress', bytesIn: source.bytesRead, totalIn: bytesIn }),
        pipeline(source, createParallelGzip({ level: config.gzipLevel }), handle.createWriteStream({ flush: true }), {
          signal: Context.current().cancellationSignal,
        }).catch((err) => {
          throwIfCancelled();
          throw err;
        }),
      );
      // The stream fsynced and closed the handle.
      const bytesOut = (await fs.stat(partPath)).size;
      await publishPart(partPath, gzPath);
      published = true;
      await fs.unlink(sqlPath);
      log.info('compressed', { file: fileName, bytesIn, bytesOut });
      return { path: gzPath, fileName, bytesIn, bytesOut };
    } finally {
      if (!published) {
        await handle.close().catch(() => undefined);
        await removeQuietly(partPath);
      }
    }
  };
}
