import { describe, expect, it } from 'vitest';
import { generateSerial, normalizeSerial } from '../../src/x509/serial.ts';

describe('generateSerial', () => {
  it('ok/10,000 serials are unique, positive and at most 20 octets', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const hex = generateSerial();
      const bytes = Buffer.from(hex, 'hex');
      expect(bytes.length).toBeGreaterThanOrEqual(9); // ≥ 64 random bits need at least 9 octets with the sign bit
      expect(bytes.length).toBeLessThanOrEqual(20);
      expect(bytes[0]! & 0x80).toBe(0); // positive in DER two's complement
      expect(bytes[0]).not.toBe(0); // no leading zero octet to strip
      seen.add(hex);
    }
    expect(seen.size).toBe(10_000);
  });

  it('ok/serials carry entropy in every octet (no fixed tail)', () => {
    const lastOctets = new Set<string>();
    for (let i = 0; i < 200; i++) lastOctets.add(generateSerial().slice(-2));
    expect(lastOctets.size).toBeGreaterThan(50);
  });
});

describe('normalizeSerial', () => {
  it('ok/accepts colon-separated, 0x-prefixed and upper-case forms', () => {
    expect(normalizeSerial('0A:1B:2c')).toBe('0a1b2c');
    expect(normalizeSerial('0x0a1b2c')).toBe('0a1b2c');
    expect(normalizeSerial('a1b')).toBe('0a1b');
  });
  it('ok/keeps the zero octet a positive high-bit serial needs, drops superfluous ones', () => {
    expect(normalizeSerial('0080')).toBe('0080');
    expect(normalizeSerial('00007f')).toBe('7f');
  });
  it('fail/rejects non-hex', () => {
    expect(() => normalizeSerial('xyz')).toThrow(/hexadecimal/);
  });
});
