import fs from 'node:fs';
import path from 'node:path';

/** The PostgreSQL client programs the project runs. */
export interface LibpqTools {
  pgDump: string;
  psql: string;
  pgDumpall: string;
}

/**
 * pg_dump as configured (BACKUP_PG_DUMP), and psql and pg_dumpall from the same directory, so
 * all three share one major version; a bare `pg_dump` means all three come from PATH.
 */
export function libpqTools(pgDumpPath: string): LibpqTools {
  const beside = (name: string) => {
    if (!pgDumpPath.includes('/')) return name;
    const sibling = path.join(path.dirname(pgDumpPath), name);
    return fs.existsSync(sibling) ? sibling : name;
  };
  return { pgDump: pgDumpPath, psql: beside('psql'), pgDumpall: beside('pg_dumpall') };
}
