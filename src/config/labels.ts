import { option, type Env } from './registry';

/** The label a command works on when none is given: BACKUP_ENVIRONMENT, else production. */
export function defaultEnvironment(env: Env): string {
  return option(env, 'BACKUP_ENVIRONMENT');
}

/** BACKUP_ENVIRONMENTS, else BACKUP_ENVIRONMENT, else production: the labels the schedules back up and the freshness check watches. */
export function environmentsOf(env: Env): string[] {
  return option(env, 'BACKUP_ENVIRONMENTS') ?? [defaultEnvironment(env)];
}
