import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcmeStore } from '../../src/store/acme-store.ts';
import type { AccountRecord } from '../../src/store/acme-records.ts';
import { openStore } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const account = (id: string, thumbprint: string): AccountRecord => ({
  id,
  thumbprint,
  jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: thumbprint },
  contact: ['mailto:ops@example.com'],
  status: 'valid',
  eabKid: null,
  eabBinding: null,
  createdAt: new Date('2026-01-01T00:00:00Z'),
});

/** Accounts are read on every kid-signed request and answered from memory: a change must show at once. */
describe('AcmeAccountRepository', () => {
  const open = () => new AcmeStore(openStore(join(tempDir(), 'a.db'), { create: true }).db);

  it('ok/every write shows in the next read (status, contact, key)', () => {
    const s = open();
    s.accounts.insert(account('a1', 't1'));
    expect(s.accounts.get('a1')?.status).toBe('valid');
    s.accounts.setStatus('a1', 'deactivated');
    expect(s.accounts.get('a1')?.status).toBe('deactivated');
    s.accounts.updateContact('a1', ['mailto:new@example.com']);
    expect(s.accounts.get('a1')?.contact).toEqual(['mailto:new@example.com']);
    expect(s.accounts.replaceKey('a1', 't1', { kty: 'EC', y: 'new' }, 't2')).toBe(true);
    expect(s.accounts.get('a1')).toMatchObject({ thumbprint: 't2', jwk: { kty: 'EC', y: 'new' } });
    expect(s.accounts.get('nope')).toBeNull();
  });

  it('ok/a write rolled back leaves the committed record, also when read inside the transaction', () => {
    const s = open();
    s.accounts.insert(account('a1', 't1'));
    expect(s.accounts.get('a1')?.status).toBe('valid');
    expect(() =>
      s.transaction(() => {
        s.accounts.setStatus('a1', 'deactivated');
        expect(s.accounts.get('a1')?.status).toBe('deactivated');
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(s.accounts.get('a1')?.status).toBe('valid');
  });

  it('ok/the records handed out cannot be changed by a caller', () => {
    const s = open();
    s.accounts.insert(account('a1', 't1'));
    const a = s.accounts.get('a1')!;
    expect(() => {
      (a as { status: string }).status = 'revoked';
    }).toThrow(TypeError);
    expect(() => {
      (a.jwk as Record<string, unknown>).x = 'other';
    }).toThrow(TypeError);
    expect(s.accounts.get('a1')?.status).toBe('valid');
  });
});
