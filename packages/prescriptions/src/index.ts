// The prescribing domain without I/O: what the node's prescription, dispensing and decision-support routes
// decide, kept pure so it can be tested against external data and reused by other FHIR clients.
export {};
