#!/usr/bin/env node
// CLI: deploys the contract suite and writes the deployment JSON.
//   medledger-deploy-contracts --rpc-url http://127.0.0.1:8545 --out data/deployment.json [--admin 0x…]
//     [--break-glass-cap 14400]
// The deployer's key comes from the MEDLEDGER_DEPLOYER_KEY environment variable, never from the command line.

import { parseArgs } from 'node:util';
import { type Address, type Hex, isAddress, isHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { DEFAULT_BREAK_GLASS_DURATION_CAP, deploySuite } from '../deploy.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'rpc-url': { type: 'string' },
      out: { type: 'string' },
      admin: { type: 'string' },
      'break-glass-cap': { type: 'string' },
    },
  });
  const rpcUrl = values['rpc-url'];
  const outFile = values.out;
  const key = process.env.MEDLEDGER_DEPLOYER_KEY;
  if (!rpcUrl || !outFile)
    throw new Error('usage: --rpc-url <url> --out <deployment.json> [--admin <address>]');
  if (!key || !isHex(key) || key.length !== 66)
    throw new Error('MEDLEDGER_DEPLOYER_KEY must hold a 32-byte hex key');
  if (values.admin !== undefined && !isAddress(values.admin)) throw new Error('--admin must be an address');
  const cap = Number(values['break-glass-cap'] ?? DEFAULT_BREAK_GLASS_DURATION_CAP);
  if (!Number.isInteger(cap) || cap <= 0 || cap > 0xffffffff)
    throw new Error('--break-glass-cap must be seconds');
  const deployment = await deploySuite({
    rpcUrl,
    outFile,
    account: privateKeyToAccount(key as Hex),
    breakGlassDurationCap: cap,
    ...(values.admin ? { admin: values.admin as Address } : {}),
  });
  console.log(`deployed to chain ${deployment.chainId} at block ${deployment.blockNumber}; wrote ${outFile}`);
}

main().catch((error: unknown) => {
  console.error(`medledger-deploy-contracts: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
