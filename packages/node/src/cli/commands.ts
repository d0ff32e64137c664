/**
 * Every `medledger` command, in the order `medledger help` lists them. A command is one file of this folder
 * exporting its description (command.ts); adding one is adding it here.
 */
import { adminCommand } from './admin.js';
import { auditCommand } from './audit.js';
import type { Command } from './command.js';
import { consortiumCommand } from './consortium.js';
import { demoCommand } from './demo.js';
import { importCommand } from './import.js';
import { reindexCommand } from './reindex.js';
import { startCommand } from './start.js';
import { statusCommand } from './status.js';
import { totpCommand } from './totp.js';
import { verifyCommand } from './verify.js';

export const COMMANDS: readonly Command[] = [
  startCommand,
  statusCommand,
  importCommand,
  verifyCommand,
  adminCommand,
  totpCommand,
  auditCommand,
  reindexCommand,
  consortiumCommand,
  demoCommand,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
