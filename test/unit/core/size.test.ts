// Unit: strict size parsing and formatting.
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from '../../../src/core/size';
import { DiycloudError } from '../../../src/core/errors';

describe('parseSize', () => {
  it.each([
    ['2G', 2 * 1024 ** 3], ['512M', 512 * 1024 ** 2], ['1.5T', 1.5 * 1024 ** 4], ['1048576', 1048576], ['0', 0], ['64K', 65536], ['0.5G', 512 * 1024 ** 2],
  ])('accepts %s', (s, n) => expect(parseSize(s)).toBe(n));

  it.each(['2 G', '-1', 'NaN', '1e400', '0x10', '10GiB;rm', '', '1.5', ' 2G', '2G ', '2g', '1..5G', '.5G', '01G', '2GB', 'infinity', '9'.repeat(40), '99999999999999999P'])(
    'rejects %j with InvalidArgument',
    (s) => {
      expect(() => parseSize(s)).toThrow(DiycloudError);
      try {
        parseSize(s, 'memory');
      } catch (e) {
        expect((e as DiycloudError).code).toBe('InvalidArgument');
        expect((e as DiycloudError).message).toMatch(/^memory: /);
      }
    },
  );

  it('round-trips through formatSize', () => {
    for (const s of ['2G', '512M', '1536M', '64K', '1000', '3T']) expect(formatSize(parseSize(s))).toBe(s);
  });
});
