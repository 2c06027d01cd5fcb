import { describe, expect, it } from 'vitest';
import {
  BACKUP_SEARCH_ATTRIBUTES,
  completedBackupsQuery,
  describeSearchAttributeProblems,
  devServerSearchAttributeArgs,
  hasProblems,
  searchAttributeProblems,
} from '../../src/common/search-attributes';

describe('backup search attributes (pure)', () => {
  it('registers each one on the dev server with its CLI type', () => {
    expect(devServerSearchAttributeArgs()).toEqual([
      '--search-attribute',
      'PgBackupEnvironment=Keyword',
      '--search-attribute',
      'PgBackupDatabase=Keyword',
      '--search-attribute',
      'PgBackupSizeBytes=Int',
      '--search-attribute',
      'PgBackupVerified=Bool',
      '--search-attribute',
      'PgBackupTrigger=Keyword',
    ]);
  });

  it('finds nothing wrong when the namespace has them all, whatever else it has', () => {
    const registered = { CustomKeywordField: 'KEYWORD', ...Object.fromEntries(BACKUP_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type])) };
    expect(hasProblems(searchAttributeProblems(registered))).toBe(false);
  });

  it('names the missing ones and gives the command that creates them', () => {
    const problems = searchAttributeProblems({ PgBackupEnvironment: 'KEYWORD', PgBackupDatabase: 'KEYWORD', PgBackupTrigger: 'KEYWORD' });
    expect(problems.missing.map((k) => k.name)).toEqual(['PgBackupSizeBytes', 'PgBackupVerified']);
    const message = describeSearchAttributeProblems(problems, 'backups');
    expect(message).toContain('the namespace "backups" lacks the search attributes backup runs need: PgBackupSizeBytes (Int), PgBackupVerified (Bool).');
    expect(message).toContain(
      '`temporal operator search-attribute create --namespace backups --name PgBackupSizeBytes --type Int --name PgBackupVerified --type Bool`',
    );
  });

  it('reports one registered with another type, which no create can fix', () => {
    const registered = { ...Object.fromEntries(BACKUP_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type])), PgBackupSizeBytes: 'KEYWORD' };
    const problems = searchAttributeProblems(registered);
    expect(problems).toMatchObject({ missing: [], conflicting: [{ key: { name: 'PgBackupSizeBytes' }, registeredType: 'KEYWORD' }] });
    expect(describeSearchAttributeProblems(problems, 'default')).toMatch(/PgBackupSizeBytes exists in "default" as Keyword, but backups need Int/);
  });

  it('queries the completed runs of one label, and refuses a label that could break out of the quotes', () => {
    expect(completedBackupsQuery('eu-west_2')).toBe("WorkflowType = 'backupDatabase' AND ExecutionStatus = 'Completed' AND PgBackupEnvironment = 'eu-west_2'");
    expect(() => completedBackupsQuery("x' OR WorkflowType != '")).toThrow(/invalid environment label/);
  });
});
