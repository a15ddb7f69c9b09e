// Unit: GPU grants (none, all, indices): parsing, the stored form, the old flag, and the host check.
import { describe, expect, it } from 'vitest';
import { formatGpuGrant, GPU_ALL, GPU_NONE, grantedIndices, grantFromFlag, grantProblem, grantsAny, parseGpuGrant } from '../../../src/core/gpu-grant';

describe('parseGpuGrant / formatGpuGrant', () => {
  it.each([
    ['none', GPU_NONE, 'none'],
    [' All ', GPU_ALL, 'all'],
    ['0', { kind: 'some', indices: [0] }, '0'],
    ['2,0', { kind: 'some', indices: [0, 2] }, '0,2'],
    ['7, 3 ,5', { kind: 'some', indices: [3, 5, 7] }, '3,5,7'],
  ])('%j', (text, grant, shown) => {
    expect(parseGpuGrant(text)).toEqual(grant);
    expect(formatGpuGrant(parseGpuGrant(text))).toBe(shown);
    expect(parseGpuGrant(formatGpuGrant(parseGpuGrant(text)))).toEqual(grant);
  });
  it.each([
    ['', /expected "none", "all"/],
    ['-1', /"-1" is negative/],
    ['1,1', /GPU index 1 is given twice/],
    ['0x1', /"0x1" is not a GPU index/],
    ['1.5', /"1.5" is not a GPU index/],
    ['0,', /"" is not a GPU index/],
    ['256', /above 255/],
    ['yes', /"yes" is not a GPU index/],
  ])('refuses %j', (text, msg) => expect(() => parseGpuGrant(text)).toThrow(msg));
});

describe('the old flag, granted indices, the host check', () => {
  it('true was every GPU, false none', () => {
    expect(grantFromFlag(true)).toEqual(GPU_ALL);
    expect(grantFromFlag(false)).toEqual(GPU_NONE);
    expect(grantsAny(GPU_NONE)).toBe(false);
    expect(grantsAny(parseGpuGrant('1'))).toBe(true);
  });
  it('grantedIndices: only indices present on the host', () => {
    expect(grantedIndices(GPU_ALL, [1, 0])).toEqual([0, 1]);
    expect(grantedIndices(GPU_NONE, [0, 1])).toEqual([]);
    expect(grantedIndices(parseGpuGrant('1,3'), [0, 1, 2])).toEqual([1]);
  });
  it('grantProblem: missing indices and any GPU on a host without GPUs are refused; none always passes', () => {
    expect(grantProblem(GPU_NONE, [])).toBeNull();
    expect(grantProblem(GPU_ALL, [0])).toBeNull();
    expect(grantProblem(parseGpuGrant('0,1'), [0, 1, 2])).toBeNull();
    expect(grantProblem(parseGpuGrant('3'), [0, 1])).toMatch(/GPU 3 does not exist on this host \(present: 0, 1\)/);
    expect(grantProblem(parseGpuGrant('2,3'), [0, 1])).toMatch(/GPU 2, 3 do not exist/);
    expect(grantProblem(GPU_ALL, [])).toMatch(/this host has no GPUs/);
    expect(grantProblem(parseGpuGrant('0'), [])).toMatch(/this host has no GPUs/);
  });
});
