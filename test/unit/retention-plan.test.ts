import { describe, expect, it } from 'vitest';
import { backupNamePattern, isoWeek, newestFirst, parseBackupNames, planRetention } from '../../src/retention/plan';

const names = (...timestamps: string[]) => timestamps.map((t) => `app_production_${t}.sql.gz`);
const parse = (list: string[]) => parseBackupNames(list, backupNamePattern('app', 'production'));

describe('retention plan', () => {
  it('keeps the newest N', () => {
    const plan = planRetention(parse(names('20251020_030000', '20251021_030000', '20251019_030000', '20251022_030000')), {
      last: 2,
      daily: 0,
      weekly: 0,
      monthly: 0,
    });
    expect(plan.keep).toEqual(names('20251022_030000', '20251021_030000'));
    expect(plan.remove).toEqual(names('20251020_030000', '20251019_030000'));
  });

  it('adds the newest of each recent day, ISO week and month (GFS)', () => {
    const all = names(
      '20251022_030000',
      '20251022_150000',
      '20251021_030000',
      '20251020_030000', // this week (W43)
      '20251015_030000',
      '20251013_030000', // W42
      '20250930_030000',
      '20250901_030000', // September
      '20250815_030000', // August
    );
    const plan = planRetention(parse(all), { last: 1, daily: 2, weekly: 2, monthly: 3 });
    expect(plan.keep).toEqual(names('20251022_150000', '20251021_030000', '20251015_030000', '20250930_030000', '20250815_030000'));
  });

  it('orders same-second collisions and never removes what must be kept', () => {
    const list = [...names('20251022_030000'), 'app_production_20251022_030000_2.sql.gz', ...names('20250101_030000')];
    const plan = planRetention(parse(list), { last: 1, daily: 0, weekly: 0, monthly: 0 }, ['app_production_20250101_030000.sql.gz']);
    expect(plan.keep).toEqual(['app_production_20251022_030000_2.sql.gz', 'app_production_20250101_030000.sql.gz']);
  });

  it('matches only this database and label, never sidecars, partials or other files', () => {
    const list = [
      'app_production_20251022_030000.sql.gz',
      'app_production_20251022_030000.sql.gz.age',
      'app_production_20251022_030000.sql.gz.sha256',
      'app_production_20251022_040000.sql.gz.part',
      'app_production_20251023_030000.sql.zst',
      'app_production_20251024_030000.sql.zst.age',
      'app_production_20251024_030000.sql.zst.sha256',
      'app_production_20251025_030000.sql.zst.part',
      'app_production_20251025_030000.sql.bz2',
      'app_production-eu_20251022_030000.sql.gz',
      'app_staging_20251022_030000.sql.gz',
      'other_production_20251022_030000.sql.gz',
      'notes.txt',
    ];
    expect(parse(list).map((b) => b.name)).toEqual([
      'app_production_20251022_030000.sql.gz',
      'app_production_20251022_030000.sql.gz.age',
      'app_production_20251023_030000.sql.zst',
      'app_production_20251024_030000.sql.zst.age',
    ]);
  });

  it('orders newest first, the higher suffix first, and a backup present as .gz and .age with its .age first', () => {
    const list = [
      'app_production_20251022_030000.sql.gz',
      'app_production_20251022_030000.sql.gz.age',
      'app_production_20251022_030000_2.sql.gz',
      'x_production_20251023_030000.sql.gz',
    ];
    expect(newestFirst(parseBackupNames(list, backupNamePattern(undefined, 'production'))).map((b) => b.name)).toEqual([
      'x_production_20251023_030000.sql.gz',
      'app_production_20251022_030000_2.sql.gz',
      'app_production_20251022_030000.sql.gz.age',
      'app_production_20251022_030000.sql.gz',
    ]);
  });

  it('computes ISO weeks across year ends', () => {
    expect(isoWeek('20251020')).toBe('2025-W43');
    expect(isoWeek('20241230')).toBe('2025-W01');
    expect(isoWeek('20210103')).toBe('2020-W53');
  });
});
