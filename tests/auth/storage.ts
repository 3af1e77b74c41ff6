/** A real SQLite registry in a temp dir for the auth unit tests. */
export { tempStorage } from '../helpers/storage.ts';
