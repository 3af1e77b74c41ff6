/**
 * `GET /api/snapshots/{id}` (alarms:read): a stored camera snapshot as image/jpeg. The id is
 * the sha256 of the site and the bytes (snapshotId), so the answer never changes: it is cached
 * for a year as immutable (private: it is behind authentication). Each id belongs to exactly
 * one site, so the same picture from two sites is two URLs; one of a site outside the caller's
 * scope is 404 like an unknown one.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { canSeeSite } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import { SNAPSHOT_ID, type SnapshotStore } from '../../linkage/snapshot-store.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { parseInput } from '../validate.ts';

const params = z.object({ id: z.string().regex(SNAPSHOT_ID, 'must be a sha256 hex digest') });

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/snapshots/:id',
    summary: 'A camera snapshot attached to an alarm (JPEG)',
    description: 'The id is the sha256 of the site and the picture, so the answer never changes: cached privately for a year.',
    permission: 'alarms:read',
    params,
    responses: { 200: { description: 'The picture', type: 'image/jpeg' } },
    errors: ['STW_ERR_SNAPSHOT_NOT_FOUND'],
  },
];

export function snapshotRoutes(deps: { store: SnapshotStore }): ApiRouteModule {
  return {
    name: 'snapshots',
    docs,
    register(app) {
      app.get('/api/snapshots/:id', allow('alarms:read'), async (req: Request, res: Response) => {
        const { id } = parseInput(params, req.params, 'params');
        const rec = await deps.store.get(id);
        if (!rec || !canSeeSite(userOf(req), rec.site)) throw new StoreTwinError('STW_ERR_SNAPSHOT_NOT_FOUND', `no snapshot ${id}`);
        const jpeg = await deps.store.read(id);
        if (!jpeg) throw new StoreTwinError('STW_ERR_SNAPSHOT_NOT_FOUND', `snapshot ${id} is no longer stored`);
        res.setHeader('Content-Type', 'image/jpeg');
        res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
        res.setHeader('ETag', `"${id}"`);
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.send(jpeg);
      });
    },
  };
}
