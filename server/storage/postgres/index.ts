export { openPostgres, postgresError, type Postgres, type PgClient, type PgQueryable, type OpenPostgresOptions } from './postgres.ts';
export { migratePostgres, type PgSchema } from './migrate.ts';
