/** User management: admin only (`users:manage`). */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { newUserSchema } from '../../auth/users.ts';
import { StoreTwinError } from '../../errors.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiRouteModule } from '../types.ts';
import { parseInput } from '../validate.ts';

const userParams = z.object({ id: z.coerce.number().int().positive() });

export const userRoutes: ApiRouteModule = {
  name: 'users',
  register(app, deps) {
    app.get('/api/users', allow('users:manage'), (_req: Request, res: Response) => {
      res.json({ items: deps.users.listUsers() });
    });

    app.post('/api/users', allow('users:manage'), async (req: Request, res: Response) => {
      const input = parseInput(newUserSchema, req.body, 'body');
      // A typo in a site list would silently lock the user out of everything.
      const unknown = input.sites.filter((s) => !deps.sites.get(s));
      if (unknown.length > 0) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site ${unknown.map((s) => `"${s}"`).join(', ')}`);
      const user = await deps.users.createUser(input);
      deps.logger.info({ user: user.username, role: user.role, by: userOf(req).username }, 'user created');
      res.status(201).location(`/api/users/${user.id}`).json({ user });
    });

    app.delete('/api/users/:id', allow('users:manage'), (req: Request, res: Response) => {
      const { id } = parseInput(userParams, req.params, 'params');
      deps.users.deleteUser(id);
      deps.logger.info({ userId: id, by: userOf(req).username }, 'user deleted');
      res.status(204).end();
    });
  },
};
