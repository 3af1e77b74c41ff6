/** The account store on SQLite: the contract suite over a real database file (two connections). */
import { sqliteRegistryStores } from '../helpers/registry-stores.ts';
import { accountStoreContract } from './account-store.contract.ts';

accountStoreContract('sqlite', sqliteRegistryStores());
