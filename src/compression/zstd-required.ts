import { ConfigError } from '../config/config-error';
import { zstdVersion, ZstdNotInstalled } from './zstd';

/** BACKUP_COMPRESSION=zstd needs the zstd program: said at start (exit code 2), not at the first backup. */
export async function requireZstd(): Promise<void> {
  await zstdVersion().catch((err: unknown) => {
    throw err instanceof ZstdNotInstalled ? new ConfigError('BACKUP_COMPRESSION', `is zstd, but ${err.message}`) : err;
  });
}
