// The requests list, whether the server answers {requests:[...]} or a bare array. No DOM.
import type { LimitRequest } from './types';

export function requestsOf(d: unknown): LimitRequest[] {
  if (Array.isArray(d)) return d as LimitRequest[];
  if (d && typeof d === 'object' && Array.isArray((d as { requests?: unknown }).requests)) return (d as { requests: LimitRequest[] }).requests;
  return [];
}
