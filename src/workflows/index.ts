export { backupDatabase } from './backup';
