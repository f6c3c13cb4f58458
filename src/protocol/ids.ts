/**
 * Identifier canonicalisation. Ids travel as hex text that may carry a 0x prefix and either case;
 * two spellings of one id are the same id. Hashes always use the text exactly as sent, so the
 * original spelling is kept alongside and only lookups use the canonical form.
 */
export function canonicalId(id: string): string {
  return (id.startsWith('0x') || id.startsWith('0X') ? id.slice(2) : id).toLowerCase();
}

export function sameId(a: string, b: string): boolean {
  return canonicalId(a) === canonicalId(b);
}
