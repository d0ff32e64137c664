/**
 * Branded (nominal) types: a `Cid` and a `ConsentId` are both strings, but must not be confused.
 * Values are branded only by the functions that validate them.
 */
declare const brand: unique symbol;

export type Brand<T, Name extends string> = T & { readonly [brand]: Name };
