// medledger's verifiable audit log (issue 6).
export {};
