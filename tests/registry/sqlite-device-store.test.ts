/** The device store on SQLite: the contract suite over a real database file (two connections). */
import { sqliteRegistryStores } from '../helpers/registry-stores.ts';
import { deviceStoreContract } from './device-store.contract.ts';

deviceStoreContract('sqlite', sqliteRegistryStores());
