/**
 * `medledger consortium governance-key --out FILE`: a fresh governance key in a new 0600 file, and its address
 * (which the chain's genesis funds, or a faucet). The key itself is never printed.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { privateKeyToAccount } from 'viem/accounts';
import { type ActionContext, operands, stringOption } from './context.js';
import { refuse } from './governanceChain.js';

export async function governanceKey(ctx: ActionContext): Promise<void> {
  operands(ctx, 0, 'governance-key --out <file>');
  const file = stringOption(ctx, 'out');
  if (!file) refuse('usage: medledger consortium governance-key --out <file>');
  const key = `0x${randomBytes(32).toString('hex')}` as const;
  try {
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    refuse(
      code === 'EEXIST' ? `${file} exists: a key is never overwritten` : `cannot write ${file} (${code})`,
    );
  }
  ctx.out(`governance key written to ${file} (mode 0600)`);
  ctx.out(`address ${privateKeyToAccount(key).address}: fund it on the chain before deploying`);
}
