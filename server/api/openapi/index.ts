/**
 * The API description, public like any API's: `GET /api/openapi.json` (OpenAPI 3.1) and
 * `GET /api/docs` (the same as a readable page). Both are built once, at the first request,
 * from the `docs` of every route module mounted (server/api/app.ts passes them all), so what is
 * described is what this server registered — tests/api/openapi.test.ts walks Express's router
 * to check that nothing registered is left out and nothing described is missing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Request, Response } from 'express';
import { REPO_ROOT } from '../../config.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { buildOpenApi, collectDocs, type OpenApiDocument } from './document.ts';
import { renderDocsPage } from './page.ts';

export { buildOpenApi, collectDocs, openApiPath, pathParams, type OpenApiDocument } from './document.ts';
export { ingestDocs } from './push.ts';

const DOCS: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/api/openapi.json',
    auth: 'public',
    summary: 'This API description (OpenAPI 3.1)',
    description: 'Built from the routes this server registered and the zod schemas they validate with. The MQTT interface is in `x-mqtt`, the error catalogue in `x-error-codes`.',
    responses: { 200: { description: 'The OpenAPI document', type: 'application/json' } },
  },
  {
    method: 'get',
    path: '/api/docs',
    auth: 'public',
    summary: 'This API description as a readable page',
    responses: { 200: { description: 'HTML', type: 'text/html' } },
  },
];

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The routes serving the description of `modules` (and of themselves): every module the app
 * mounts, and one holding the docs of the routes the app registers itself (health, metrics).
 */
export function openApiRoutes(modules: readonly ApiRouteModule[]): ApiRouteModule {
  let built: { json: string; html: string } | null = null;
  const self: ApiRouteModule = {
    name: 'api-description',
    public: true,
    docs: DOCS,
    register(app) {
      const build = () => {
        if (!built) {
          const doc: OpenApiDocument = buildOpenApi(collectDocs([...modules, self]), { version: packageVersion() });
          built = { json: JSON.stringify(doc), html: renderDocsPage(doc) };
        }
        return built;
      };
      app.get('/api/openapi.json', (_req: Request, res: Response) => {
        res.type('application/json').send(build().json);
      });
      app.get('/api/docs', (_req: Request, res: Response) => {
        res.type('text/html; charset=utf-8').send(build().html);
      });
    },
  };
  return self;
}
