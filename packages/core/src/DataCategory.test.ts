import { describe, expect, it } from 'vitest';
import { categoryMask, DataCategory, isDataCategory } from './index.js';

describe('DataCategory', () => {
  it('numbers the twelve categories 0..11 in the consent bitmask order', () => {
    expect(Object.values(DataCategory)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(DataCategory.Observations).toBe(3);
    expect(DataCategory.Devices).toBe(11);
  });

  it('builds bitmasks and recognises valid values only', () => {
    expect(categoryMask(DataCategory.Demographics, DataCategory.Observations)).toBe(0b1001);
    expect(categoryMask()).toBe(0);
    expect(isDataCategory(11)).toBe(true);
    expect(isDataCategory(12)).toBe(false);
    expect(isDataCategory('3')).toBe(false);
  });
});
