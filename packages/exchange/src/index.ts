// medledger's node-to-node exchange protocol: requests signed with the requesting organisation's composite key, responses releasing records with category keys HPKE-wrapped to the requester.
export {};
