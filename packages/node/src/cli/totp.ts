/** `medledger totp`: the current one-time code of a TOTP secret. */
import type { Command } from './command.js';

export const totpCommand: Command = {
  name: 'totp',
  summary: 'print the current one-time code of a TOTP secret and the seconds it stays valid',
  usage: ["totp '<otpauth://totp/… URI | base32 secret>'"],
  options: {},
  positionals: [1, 1],
  async run({ positionals }) {
    const { totpLine } = await import('../totpCommand.js');
    console.log(totpLine(positionals[0]!, Date.now()));
  },
};
