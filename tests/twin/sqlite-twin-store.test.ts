/** The twin snapshot store on SQLite: the contract suite over a real database file (two connections). */
import { sqliteRegistryStores } from '../helpers/registry-stores.ts';
import { twinStoreContract } from './twin-store.contract.ts';

twinStoreContract('sqlite', sqliteRegistryStores());
