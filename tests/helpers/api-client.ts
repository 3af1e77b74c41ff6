/**
 * The REST API as tests call it over a real socket: one bearer token, answers parsed as JSON,
 * and the two set-up calls integration tests make before anything else.
 */
import { expect } from 'vitest';

// Tests read answers into whatever shape they assert on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function apiRequest(baseUrl: string, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

/** POST /api/integrations, expecting 201 with DESIGN.md's `id` and `token` at the top level. */
export async function createIntegration(
  baseUrl: string,
  token: string,
  input: { adapter: string; site: string; settings?: Record<string, unknown> },
): Promise<{ id: string; integration: { id: string }; token: string; pushUrl: string }> {
  const res = await apiRequest(baseUrl, token, 'POST', '/api/integrations', { settings: {}, ...input });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.id).toBe(res.body.integration.id);
  return res.body;
}

/** POST /api/devices, expecting 201. */
export async function registerDevice(
  baseUrl: string,
  token: string,
  input: { id: string; site: string; type: string; zone: string; externalIds?: Record<string, string> },
): Promise<void> {
  const res = await apiRequest(baseUrl, token, 'POST', '/api/devices', input);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}
