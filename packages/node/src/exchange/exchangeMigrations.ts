/** Index-database tables of this feature (applied by startNode with the others). */
import type { Migration } from '@medledger/storage';

export const exchangeMigrations: Migration[] = [];
