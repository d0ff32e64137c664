/** `medledger consortium help`: every action and its options (kept light: `medledger --help` reads it). */
export const CONSORTIUM_USAGE = `usage: medledger consortium <action> [options]

governance (the key from --governance-key-file F, a 0600 file, or MEDLEDGER_GOVERNANCE_KEY; never an argument):
  governance-key --out F        write a fresh governance key to F (0600) and print its address
  deploy --out deployment.json [--break-glass-cap S]
                                deploy the contracts to the chain; the key becomes governance
  admit <join-request.json> [--fund ETH]
                                admit an organisation from its join request; prints its id
  add-node-account <org> <address> [--fund ETH]
  remove-node-account <org> <address>
  suspend <org> --reason TEXT   suspend an organisation (the reason's hash goes on-chain)
  reinstate <org>
  members [--json]              every organisation: id, name, kind, status, endpoint, node accounts
  deploy-timelock --min-delay S --proposers A[,B…] [--executors A[,B…]|anyone]
  hand-over --to ADDRESS        give governance to a timelock or multisig and renounce the key's roles
an organisation:
  join-request --out F [start options]
                                its join request from its node's data directory (creates the keystore)

<org> is an organisation's name (as in its join request) or its registry id.
chain options: --rpc-url (LEDGER_RPC_URL), --deployment-file (MEDLEDGER_DEPLOYMENT_FILE),
  --governance-key-file (MEDLEDGER_GOVERNANCE_KEY_FILE), --names-file (default: organisation-names.json beside
  the deployment file)`;
