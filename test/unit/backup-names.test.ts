import { describe, expect, it } from 'vitest';
import { candidateLabels, labelOf, parseBackupFileName } from '../../src/listing/names';

describe('backup file names', () => {
  it('parses names and tells the label from the database name as well as it can', () => {
    const name = parseBackupFileName('resee_prod_eu_west_20251020_030000_2.sql.gz.age')!;
    expect(name).toEqual({
      fileName: 'resee_prod_eu_west_20251020_030000_2.sql.gz.age',
      prefix: 'resee_prod_eu_west',
      timestamp: '20251020_030000',
      encrypted: true,
    });
    expect(candidateLabels(name.prefix)).toEqual(['prod_eu_west', 'eu_west', 'west']);
    expect(labelOf(name, { configured: ['production'] })).toBe('west');
    expect(labelOf(name, { configured: ['eu_west'] })).toBe('eu_west');
    expect(labelOf(name, { fromRun: 'prod_eu_west', configured: ['eu_west'] })).toBe('prod_eu_west');
    expect(parseBackupFileName('shop_production_20251020_030000.sql.zst')).toMatchObject({ prefix: 'shop_production', encrypted: false });
    expect(parseBackupFileName('shop_production_20251020_030000.sql.zst.age')).toMatchObject({ prefix: 'shop_production', encrypted: true });
    for (const other of [
      'x_production_20251020_030000.sql.part',
      'x_production_20251020_030000.sql.gz.sha256',
      'x_production_20251020_030000.sql.zst.part',
      'notes.txt',
    ])
      expect(parseBackupFileName(other)).toBeUndefined();
  });
});
