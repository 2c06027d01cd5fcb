export { backupDatabase } from './backup';
export { checkBackupFreshness } from './freshness';
